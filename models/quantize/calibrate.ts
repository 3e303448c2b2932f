import * as ort from 'onnxruntime-node';

/** Observed range of one tensor over the calibration inputs. */
export interface TensorRange {
  min: number;
  max: number;
}

export type CalibrationBatch = Readonly<Record<string, ort.Tensor>>;

/**
 * Runs the fp32 model on every calibration batch with the named intermediate tensors
 * exposed as extra outputs, and records each one's min and max. `withOutputs` returns
 * the model bytes with those outputs added (the caller owns the ONNX codec).
 */
export async function calibrateRanges(
  modelWithOutputs: Uint8Array,
  tensors: readonly string[],
  batches: readonly CalibrationBatch[],
): Promise<Map<string, TensorRange>> {
  const session = await ort.InferenceSession.create(modelWithOutputs, { graphOptimizationLevel: 'basic' });
  const ranges = new Map<string, TensorRange>();
  try {
    for (const batch of batches) {
      const outputs = await session.run(batch, [...tensors]);
      for (const name of tensors) {
        const data = outputs[name]?.data as Float32Array | undefined;
        if (!data) continue;
        const range = ranges.get(name) ?? { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
        for (let i = 0; i < data.length; i += 1) {
          const value = data[i]!;
          if (value < range.min) range.min = value;
          if (value > range.max) range.max = value;
        }
        ranges.set(name, range);
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}

/** Asymmetric int8 parameters for a range that always includes 0 (so 0 is exact). */
export function int8Activation(range: TensorRange): { scale: number; zeroPoint: number } {
  const low = Math.min(range.min, 0);
  const high = Math.max(range.max, 0);
  const scale = high > low ? (high - low) / 255 : 1;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - low / scale)));
  return { scale, zeroPoint };
}
