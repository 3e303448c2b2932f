import { decodeImages } from '../../workers/media/decode-images.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';

/** Images are refused above this many pixels before decoding (the workers' default MAX_IMAGE_PIXELS). */
const MAX_PIXELS = 40_000_000;

/**
 * The request's inputs as the model sees them: encoded images (BYTES) decoded to the FP32
 * tensor the worker would make, so patches are perturbed in the model's own pixels.
 */
export async function modelInputs(inputs: readonly Tensor[], config: ModelConfig): Promise<Tensor[]> {
  return Promise.all(
    inputs.map(async (tensor) => {
      const spec = config.inputs.find((candidate) => candidate.name === tensor.name);
      if (spec?.image && tensor.datatype === 'BYTES') return decodeImages(tensor, spec.image, MAX_PIXELS);
      return tensor;
    }),
  );
}

/** A copy whose buffers the live call cannot take: runtimes take ownership of what they are sent. */
export function copyInputs(inputs: readonly Tensor[]): Tensor[] {
  return inputs.map((tensor) => ({ ...tensor, data: tensor.data.slice() }));
}
