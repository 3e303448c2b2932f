import ort from 'onnxruntime-node';
import { PROJECT_MODELS } from './repository.js';

/** Deterministic 512-float inputs, distinct per seed. */
export function mlpVector(seed: number): number[] {
  return Array.from({ length: 512 }, (_, i) => Math.sin(seed * 31.7 + i * 0.37));
}

export function mlpBody(seed: number, parameters: Record<string, unknown> = {}) {
  return { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: mlpVector(seed) }], parameters };
}

/** The MLP run directly through onnxruntime, to check what Switchyard answers. */
export class MlpReference {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(): Promise<MlpReference> {
    return new MlpReference(await ort.InferenceSession.create(`${PROJECT_MODELS}/mlp-classifier/1/model.onnx`, { intraOpNumThreads: 1 }));
  }

  async expected(seed: number): Promise<Float32Array> {
    const out = await this.session.run({ input: new ort.Tensor('float32', Float32Array.from(mlpVector(seed)), [1, 512]) });
    return out.probabilities!.data as Float32Array;
  }

  /** True when `data` equals the reference output for `seed` to float32 rounding. */
  async matches(seed: number, data: number[]): Promise<boolean> {
    const want = await this.expected(seed);
    return data.length === want.length && data.every((value, i) => Math.abs(value - want[i]!) < 1e-6);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
