import sharp from 'sharp';
import { ServingError } from '../protocol/errors.js';
import { decodeBytesElements, type Tensor } from '../protocol/tensor.js';
import { contrastingBackground } from './contrasting-background.js';
import { checkImageSignature } from './image-signature.js';
import type { ImageInputSpec } from '../repository/model-config.js';

const FORMATS = new Set(['png', 'jpeg', 'webp']);

/**
 * Encoded images (the elements of a BYTES tensor) to the FP32 tensor the model takes:
 * decode with sharp (EXIF rotation applied, transparency composited onto a background the
 * content shows against), resize, then normalise in JS
 * (sharp's linear() stays 8-bit). sharp works on libuv's pool, off the event loop.
 */
export async function decodeImages(tensor: Tensor, spec: ImageInputSpec, maxPixels: number): Promise<Tensor> {
  const images = decodeBytesElements(tensor.data as Uint8Array) ?? [];
  const plane = spec.width * spec.height;
  const channels = spec.channels;
  const out = new Float32Array(images.length * plane * channels);
  await Promise.all(
    images.map(async (image, index) => {
      const pixels = await decodeOne(image, index, tensor.name, spec, maxPixels);
      const base = index * plane * channels;
      for (let p = 0; p < plane; p += 1) {
        for (let c = 0; c < channels; c += 1) {
          const source = spec.channel_order === 'BGR' && channels === 3 ? 2 - c : c;
          const value = (pixels[p * channels + source]! * spec.scale - spec.mean[c]!) / spec.std[c]!;
          out[spec.layout === 'NCHW' ? base + c * plane + p : base + p * channels + c] = value;
        }
      }
    }),
  );
  const shape =
    spec.layout === 'NCHW' ? [images.length, channels, spec.height, spec.width] : [images.length, spec.height, spec.width, channels];
  return { name: tensor.name, datatype: 'FP32', shape, data: out };
}

async function decodeOne(image: Uint8Array, index: number, input: string, spec: ImageInputSpec, maxPixels: number): Promise<Buffer> {
  const where = `input "${input}", image ${index}`;
  if (image.byteLength === 0) throw new ServingError('invalid_media', `${where} is empty`);
  checkImageSignature(image, where);
  try {
    const source = sharp(image, { limitInputPixels: maxPixels, failOn: 'truncated' });
    const { format, pages, hasAlpha } = await source.metadata();
    if (!format || !FORMATS.has(format))
      throw new ServingError('invalid_media', `${where} is ${format ?? 'of an unknown format'}: send PNG, JPEG or WebP`);
    // Only the first frame would be decoded: a model must not judge an animation by it.
    if ((pages ?? 1) > 1) throw new ServingError('invalid_media', `${where} is animated (${pages} frames): send a still image`);
    const background = hasAlpha ? await contrastingBackground(source.clone()) : undefined;
    return await (background === undefined ? source.rotate().removeAlpha() : source.rotate().flatten({ background }))
      // 'b-w' leaves a single luminance band (libvips computes it from linear light).
      .toColourspace(spec.channels === 1 ? 'b-w' : 'srgb')
      .resize(spec.width, spec.height, { fit: spec.fit, background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer();
  } catch (error) {
    if (error instanceof ServingError) throw error;
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) throw new ServingError('image_too_large', `${where} has more than ${maxPixels} pixels`);
    throw new ServingError('invalid_media', `${where} cannot be decoded: ${message}`);
  }
}
