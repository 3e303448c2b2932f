import { z } from 'zod';
import { isTensor } from '../../step-values.js';
import { TransformInputError, type Transform } from '../transform.js';
import { orientedBoxes } from './box-quads.js';
import { findTextRects, type ProbabilityMap } from './find-text-boxes.js';
import { asRawImage } from './raw-image.js';

/** PaddleOCR's DB defaults. */
const options = z.strictObject({
  threshold: z.number().gt(0).lt(1).default(0.3),
  box_threshold: z.number().min(0).max(1).default(0.6),
  unclip_ratio: z.number().min(0).max(10).default(1.5),
  min_side: z.number().int().min(1).default(3),
  /**
   * The line steps send one request per box at once, into model queues of 1024 by default,
   * and 1000 lines take 25-50 s of a 2-core machine's 60 s default deadline: more boxes
   * than this are counted as left out instead of read.
   */
  max_boxes: z.number().int().min(1).max(10_000).default(1000),
});

/** The detector's output as one probability map: [1, 1, H, W] (batch dim included) or [1, H, W]. */
function probabilityMap(value: unknown): ProbabilityMap {
  if (!isTensor(value) || value.datatype !== 'FP32' || value.shape.length < 2)
    throw new TransformInputError('probabilities must be an FP32 tensor ending in [H, W]');
  const height = value.shape[value.shape.length - 2]!;
  const width = value.shape[value.shape.length - 1]!;
  if (value.data.length !== width * height)
    throw new TransformInputError(`probabilities must hold one map, not shape [${value.shape.join(',')}]`);
  return { data: value.data as Float32Array, width, height };
}

/**
 * Detector probability map -> rotated text boxes in the original image's pixels, read along
 * the page's axis; `truncated` and `boxes_left_out` say whether boxes past `max_boxes` were
 * dropped, and how many, so a partial page is never answered as a whole one.
 */
export function textBoxes(): Transform {
  return {
    name: 'ocr.text-boxes',
    inputs: ['probabilities', 'image'],
    outputs: ['boxes', 'truncated', 'boxes_left_out'],
    checkOptions: (raw) => void options.parse(raw),
    async run(inputs, raw) {
      const chosen = options.parse(raw);
      const image = asRawImage(inputs['image'], 'image');
      const { rects, leftOut } = findTextRects(probabilityMap(inputs['probabilities']), image.width, image.height, {
        threshold: chosen.threshold,
        boxThreshold: chosen.box_threshold,
        unclipRatio: chosen.unclip_ratio,
        minSide: chosen.min_side,
        maxBoxes: chosen.max_boxes,
      });
      return { boxes: orientedBoxes(rects, image.width, image.height), truncated: leftOut > 0, boxes_left_out: leftOut };
    },
  };
}
