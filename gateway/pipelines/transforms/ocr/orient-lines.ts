import { z } from 'zod';
import { isTensor } from '../../step-values.js';
import { TransformInputError, type Transform } from '../transform.js';
import { isRawImage, type RawImage } from './raw-image.js';

const options = z.strictObject({
  /** A line is turned only when the classifier is this sure it is upside down (PaddleOCR's cls_thresh). */
  threshold: z.number().min(0.5).max(1).default(0.9),
});

/** Index of "turned 180 degrees" in the direction classifier's two-class output. */
const UPSIDE_DOWN = 1;

function turn180(line: RawImage): RawImage {
  const pixels = line.width * line.height;
  const data = new Uint8Array(line.data.length);
  for (let p = 0; p < pixels; p += 1) {
    const from = p * 3;
    const to = (pixels - 1 - p) * 3;
    data[to] = line.data[from]!;
    data[to + 1] = line.data[from + 1]!;
    data[to + 2] = line.data[from + 2]!;
  }
  return { data, width: line.width, height: line.height };
}

/** Turns the lines the direction classifier calls upside down, so the recognizer reads them upright. */
export function orientLines(): Transform {
  return {
    name: 'ocr.orient-lines',
    inputs: ['lines', 'directions'],
    outputs: ['lines'],
    checkOptions: (raw) => void options.parse(raw),
    async run(inputs, raw) {
      const { threshold } = options.parse(raw);
      const lines = inputs['lines'];
      const directions = inputs['directions'];
      if (!Array.isArray(lines) || !lines.every(isRawImage)) throw new TransformInputError('lines must be a list of decoded images');
      if (!Array.isArray(directions) || directions.length !== lines.length || !directions.every(isTensor)) {
        throw new TransformInputError('directions must be one classifier output per line');
      }
      return {
        lines: lines.map((line, index) => {
          const probability = Number(directions[index]!.data[UPSIDE_DOWN] ?? 0);
          return probability >= threshold ? turn180(line) : line;
        }),
      };
    },
  };
}
