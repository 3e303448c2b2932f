import sharp from 'sharp';
import { lineTensor } from '../../gateway/pipelines/transforms/ocr/line-tensor.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { seededRandom } from '../build/seeded-random.js';

/** A rendered text line, preprocessed as the OCR pipeline feeds the recognizer, with its text. */
export interface TextLineSample {
  readonly text: string;
  readonly tensor: Tensor;
}

const WORDS = [
  'invoice',
  'total',
  'claim',
  'policy',
  'amount',
  'date',
  'due',
  'paid',
  'order',
  'account',
  'Switchyard',
  'Berlin',
  'street',
  'number',
  'payment',
  'refund',
  'customer',
  'service',
  'reference',
  'balance',
];
const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono'];

/**
 * Text lines rendered with the fonts installed here (words, a number, a date), cropped
 * to the ink with a margin like the OCR pipeline's crops: calibration and evaluation
 * inputs for the recognizer, made offline. Different seeds give disjoint sets in practice.
 */
export async function textLineSamples(count: number, seed: number): Promise<TextLineSample[]> {
  // Seeded, so a seed names one sample set.
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const samples: TextLineSample[] = [];
  for (let i = 0; i < count; i += 1) {
    const text = `${pick(WORDS)} ${pick(WORDS)} ${Math.floor(next() * 9000 + 100)}.${String(Math.floor(next() * 100)).padStart(2, '0')}`;
    const size = 28 + Math.floor(next() * 16);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size * text.length}" height="${size * 2}"><rect width="100%" height="100%" fill="white"/><text x="${size / 2}" y="${size * 1.3}" font-family="${pick(FONTS)}" font-size="${size}" fill="black">${text}</text></svg>`;
    const { data, info } = await sharp(Buffer.from(svg))
      .trim({ threshold: 10 })
      .extend({ top: 6, bottom: 6, left: 8, right: 8, background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    samples.push({ text, tensor: await lineTensor({ data, width: info.width, height: info.height }, 48, [320]) });
  }
  return samples;
}
