import { z } from 'zod';
import { TransformInputError, type Transform } from '../transform.js';
import { lineTensor } from './line-tensor.js';
import { isRawImage } from './raw-image.js';
import { mapAtMost } from '../take-turns.js';

/** Lines resized at once: libuv's pool has 4 threads by default. */
const LINES_AT_ONCE = 4;

const options = z.strictObject({
  height: z.number().int().min(8).max(256).default(48),
  /** Widths lines are padded to; each distinct width is a separate batch signature. */
  widths: z.array(z.number().int().min(8).max(4096)).min(1).default([320]),
});

/** Cropped lines -> one input tensor per line, for a mapped line-model step. */
export function lineTensors(): Transform {
  return {
    name: 'ocr.line-tensors',
    inputs: ['lines'],
    outputs: ['tensors'],
    checkOptions: (raw) => void options.parse(raw),
    async run(inputs, raw) {
      const { height, widths } = options.parse(raw);
      const lines = inputs['lines'];
      if (!Array.isArray(lines) || !lines.every(isRawImage)) throw new TransformInputError('lines must be a list of decoded images');
      return { tensors: await mapAtMost(lines, LINES_AT_ONCE, (line) => lineTensor(line, height, widths)) };
    },
  };
}
