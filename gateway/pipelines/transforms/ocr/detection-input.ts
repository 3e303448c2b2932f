import { z } from 'zod';
import type { Tensor } from '../../../../workers/protocol/tensor.js';
import type { DecodedMemory } from '../decoded-memory.js';
import type { Transform } from '../transform.js';
import { decodeRawImage, sharpOf, type RawImage } from './raw-image.js';

const options = z.strictObject({
  /** The longer side is scaled down to at most this (PaddleOCR's limit_side_len). */
  max_side: z.number().int().min(32).max(4096).default(960),
});

/**
 * ImageNet statistics, as PaddleOCR's detector was trained: its images are read as BGR
 * and these are applied in that channel order, so mean[0] goes with blue.
 */
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/** Sides the detector takes: multiples of 32 (its feature pyramid halves the size five times). */
export function detectionSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const ratio = Math.min(1, maxSide / Math.max(width, height));
  const round = (side: number): number => Math.max(32, Math.round((side * ratio) / 32) * 32);
  return { width: round(width), height: round(height) };
}

/** Normalised planar BGR, [1, 3, height, width]. */
function toDetectionTensor(pixels: Uint8Array, width: number, height: number): Tensor {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p += 1) {
    for (let c = 0; c < 3; c += 1) {
      data[c * plane + p] = (pixels[p * 3 + (2 - c)]! / 255 - MEAN[c]!) / STD[c]!;
    }
  }
  return { name: 'x', datatype: 'FP32', shape: [1, 3, height, width], data };
}

/**
 * Encoded image -> the decoded original (for cropping later) and the detector's input tensor.
 * The original's bytes are reserved from `memory` before it is decoded and held until the task ends.
 */
export function detectionInput(maxPixels: number, memory: DecodedMemory): Transform {
  return {
    name: 'ocr.detection-input',
    inputs: ['image'],
    outputs: ['image', 'tensor'],
    checkOptions: (raw) => void options.parse(raw),
    async run(inputs, raw, context) {
      const { max_side } = options.parse(raw);
      const reserve = async (bytes: number): Promise<void> =>
        context.untilRunEnds(await memory.reserve(bytes, context.deadline, context.signal));
      const image: RawImage = await decodeRawImage(inputs['image'], maxPixels, reserve);
      const size = detectionSize(image.width, image.height, max_side);
      const pixels = await sharpOf(image).resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer();
      return { image, tensor: toDetectionTensor(pixels, size.width, size.height) };
    },
  };
}
