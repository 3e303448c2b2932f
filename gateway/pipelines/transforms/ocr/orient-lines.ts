import { z } from 'zod';
import { isTensor } from '../../step-values.js';
import { mapTakingTurns } from '../take-turns.js';
import { TransformInputError, type Transform } from '../transform.js';
import { turnedBox } from './box-quads.js';
import type { TextBox } from './find-text-boxes.js';
import { isRawImage, type RawImage } from './raw-image.js';

const options = z.strictObject({
  /**
   * A line goes against the page's direction only when the classifier is this sure
   * (PaddleOCR's cls_thresh, 0.9, raised: with the page's vote to fall back on, a line
   * needs stronger evidence to break ranks, and crops of turned pages score 0.92 wrongly).
   */
  threshold: z.number().min(0.5).max(1).default(0.95),
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

/**
 * Whether the page as a whole is upside down in its boxes' reading direction: the
 * classifier's votes weighted by line length, so a page turned 180 (or 270) degrees
 * is read as one even where a short line's vote is unsure.
 */
export function pageUpsideDown(upsideDown: readonly number[], lengths: readonly number[]): boolean {
  let weighted = 0;
  let total = 0;
  upsideDown.forEach((probability, index) => {
    weighted += probability * lengths[index]!;
    total += lengths[index]!;
  });
  return total > 0 && weighted / total > 0.5;
}

/**
 * Turns the lines (and their boxes) that read upside down so the recognizer sees them
 * upright: each line follows the page's majority direction unless the classifier is at
 * least `threshold` sure it goes the other way.
 */
export function orientLines(): Transform {
  return {
    name: 'ocr.orient-lines',
    inputs: ['lines', 'directions', 'boxes'],
    outputs: ['lines', 'boxes'],
    checkOptions: (raw) => void options.parse(raw),
    async run(inputs, raw) {
      const { threshold } = options.parse(raw);
      const lines = inputs['lines'];
      const directions = inputs['directions'];
      const boxes = inputs['boxes'] as TextBox[];
      if (!Array.isArray(lines) || !lines.every(isRawImage)) throw new TransformInputError('lines must be a list of decoded images');
      if (!Array.isArray(directions) || directions.length !== lines.length || !directions.every(isTensor)) {
        throw new TransformInputError('directions must be one classifier output per line');
      }
      if (!Array.isArray(boxes) || boxes.length !== lines.length) throw new TransformInputError('boxes must be one per line');
      const votes = directions.map((direction) => Number(direction.data[UPSIDE_DOWN] ?? 0));
      const flipped = pageUpsideDown(
        votes,
        lines.map((line) => line.width),
      );
      const turn = votes.map((probability) => (flipped ? probability > 1 - threshold : probability >= threshold));
      return {
        lines: await mapTakingTurns(lines, (line, index) => (turn[index] ? turn180(line) : line)),
        boxes: boxes.map((box, index) => (turn[index] ? turnedBox(box) : box)),
      };
    },
  };
}
