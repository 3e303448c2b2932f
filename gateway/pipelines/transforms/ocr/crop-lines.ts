import { TransformInputError, type Transform } from '../transform.js';
import type { TextBox } from './find-text-boxes.js';
import { asRawImage } from './raw-image.js';
import { warpQuads } from './warp-pool.js';

function asBoxes(value: unknown): readonly TextBox[] {
  if (!Array.isArray(value)) throw new TransformInputError('boxes must be a list');
  return value as TextBox[];
}

/** One upright crop of the original image per (rotated) text box, in the boxes' order, sampled off the event loop. */
export function cropLines(): Transform {
  return {
    name: 'ocr.crop-lines',
    inputs: ['image', 'boxes'],
    outputs: ['lines'],
    checkOptions: () => undefined,
    async run(inputs) {
      const image = asRawImage(inputs['image'], 'image');
      const lines = await warpQuads(
        image,
        asBoxes(inputs['boxes']).map((box) => box.quad),
      );
      return { lines };
    },
  };
}
