import * as ort from 'onnxruntime-node';
import type { CalibrationBatch } from './calibrate.js';
import type { LayerInputs } from './layer-hessian.js';

/**
 * Runs the fp32 model on every calibration batch and keeps the rows each named tensor
 * took (the last dimension is a row; leading ones are flattened). `modelWithOutputs` is
 * the model with those tensors added as graph outputs; a tensor that is a graph input is
 * read from the feed instead, since onnxruntime only fetches outputs.
 */
export async function collectLayerInputs(
  modelWithOutputs: Uint8Array,
  tensors: readonly string[],
  batches: readonly CalibrationBatch[],
): Promise<Map<string, LayerInputs>> {
  const session = await ort.InferenceSession.create(modelWithOutputs, { graphOptimizationLevel: 'basic' });
  const fetched = tensors.filter((name) => !session.inputNames.includes(name));
  const chunks = new Map<string, { parts: Float32Array[]; width: number }>();
  const keep = (name: string, tensor: ort.Tensor | undefined): void => {
    if (tensor?.type !== 'float32') return;
    const width = tensor.dims[tensor.dims.length - 1] ?? 1;
    const entry = chunks.get(name) ?? { parts: [], width };
    if (entry.width !== width) throw new Error(`calibration rows of "${name}" change width (${entry.width}, then ${width})`);
    entry.parts.push(tensor.data as Float32Array);
    chunks.set(name, entry);
  };
  try {
    for (const batch of batches) {
      const outputs = fetched.length > 0 ? await session.run(batch, fetched) : {};
      for (const name of tensors) keep(name, batch[name] ?? outputs[name]);
    }
  } finally {
    await session.release();
  }
  const inputs = new Map<string, LayerInputs>();
  for (const [name, { parts, width }] of chunks) {
    const values = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      values.set(part, offset);
      offset += part.length;
    }
    inputs.set(name, { values, rows: values.length / width, width });
  }
  return inputs;
}
