import { TransformInputError, type Transform } from '../transform.js';
import type { TextBox } from './find-text-boxes.js';
import { asRawImage, sharpOf, type RawImage } from './raw-image.js';

function asBoxes(value: unknown): readonly TextBox[] {
  if (!Array.isArray(value)) throw new TransformInputError('boxes must be a list');
  return value as TextBox[];
}

/** One crop of the original image per text box, in the boxes' order. */
export function cropLines(): Transform {
  return {
    name: 'ocr.crop-lines',
    inputs: ['image', 'boxes'],
    outputs: ['lines'],
    checkOptions: () => undefined,
    async run(inputs) {
      const image = asRawImage(inputs['image'], 'image');
      const lines = await Promise.all(asBoxes(inputs['boxes']).map(async (box): Promise<RawImage> => {
        const region = { left: box.x, top: box.y, width: box.width, height: box.height };
        const { data, info } = await sharpOf(image).extract(region).raw().toBuffer({ resolveWithObject: true });
        return { data, width: info.width, height: info.height };
      }));
      return { lines };
    },
  };
}
