import { ServingError } from '../../workers/protocol/errors.js';
import type { TensorSpec } from '../../workers/repository/model-config.js';

export interface ImageGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly layout: 'NCHW' | 'NHWC';
}

/** How one input's row is laid out, as far as explaining it goes. */
export interface InputLayout {
  readonly name: string;
  readonly kind: 'image' | 'vector';
  /** Dims of one row (after any batch dim). */
  readonly dims: readonly number[];
  /** Elements in one row. */
  readonly size: number;
  readonly image?: ImageGeometry;
}

function unsupported(message: string): ServingError {
  return new ServingError('explain_unsupported', message);
}

/**
 * Images are inputs declared as images, or FP32 rows shaped like one ([C,H,W] with 1 or 3
 * channels, or [H,W]); vectors are FP32 rows of one dim. Anything else (variable-length,
 * integer, text, deeper tensors) is refused: there is no baseline that means "absent" for it.
 */
export function inputLayout(spec: TensorSpec): InputLayout {
  const where = `input "${spec.name}"`;
  if (spec.datatype !== 'FP32')
    throw unsupported(`${where} is ${spec.datatype}: explanations perturb FP32 inputs (vectors and images) only`);
  if (spec.shape.some((dim) => dim === -1))
    throw unsupported(`${where} has a variable dim [${spec.shape.join(',')}]: variable-length inputs are not explained`);
  const dims = [...spec.shape];
  const size = dims.reduce((a, b) => a * b, 1);
  if (spec.image) {
    const { channels, height, width, layout } = spec.image;
    return { name: spec.name, kind: 'image', dims, size, image: { channels, height, width, layout } };
  }
  if (dims.length === 1) return { name: spec.name, kind: 'vector', dims, size };
  if (dims.length === 2)
    return { name: spec.name, kind: 'image', dims, size, image: { channels: 1, height: dims[0]!, width: dims[1]!, layout: 'NCHW' } };
  if (dims.length === 3 && (dims[0] === 1 || dims[0] === 3)) {
    return { name: spec.name, kind: 'image', dims, size, image: { channels: dims[0], height: dims[1]!, width: dims[2]!, layout: 'NCHW' } };
  }
  throw unsupported(`${where} of shape [${dims.join(',')}] is neither a vector nor an image`);
}

/** Index of pixel (y, x), channel c, in one row. */
export function pixelIndex(image: ImageGeometry, y: number, x: number, c: number): number {
  return image.layout === 'NCHW' ? (c * image.height + y) * image.width + x : (y * image.width + x) * image.channels + c;
}
