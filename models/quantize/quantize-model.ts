import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel } from '../onnx/onnx-model.js';
import { calibrateRanges } from './calibrate.js';
import type { Sample } from './calibration-inputs.js';
import { dynamicActivationInputs, quantizeDynamic } from './dynamic-quantize.js';
import { layerHessian } from './layer-hessian.js';
import { collectLayerInputs } from './layer-inputs.js';
import { editable } from './onnx-types.js';
import { QuantizeError, type QuantizeOutcome } from './quantize-plan.js';
import { calibrationTensors, quantizeStatic } from './static-quantize.js';

export type QuantizeMode = 'dynamic' | 'static';

export interface QuantizeOptions {
  readonly mode: QuantizeMode;
  /**
   * Static mode: the inputs activation ranges are measured on. Dynamic mode: when given,
   * the rows each layer sees on them steer error-feedback weight rounding.
   */
  readonly calibration?: readonly Sample[];
  readonly quantizeOutputLayer?: boolean;
  /** Static mode: apply the fp32-exact graph fusions first (see StaticQuantizeOptions). */
  readonly fuse?: boolean;
  /** Static mode: uint8 activations (default, onnxruntime's fastest CPU form) or signed int8 (S8S8, for TensorRT). */
  readonly activations?: 'int8' | 'uint8';
}

/**
 * fp32 ONNX bytes in, int8 ONNX bytes out. Refuses a model that does not load (rather
 * than writing a broken file), one with nothing to quantize, and checks that the result
 * loads in onnxruntime before returning it.
 */
export async function quantizeModel(fp32: Uint8Array, options: QuantizeOptions): Promise<{ bytes: Uint8Array; outcome: QuantizeOutcome }> {
  try {
    await (await ort.InferenceSession.create(fp32)).release();
  } catch (error) {
    throw new QuantizeError(`the model does not load in onnxruntime, so it cannot be quantized: ${(error as Error).message}`);
  }
  const model = editable(decodeModel(fp32));
  let outcome: QuantizeOutcome;
  if (options.mode === 'dynamic') {
    const hessians =
      options.calibration && options.calibration.length > 0
        ? await layerHessians(fp32, dynamicActivationInputs(model, options), options.calibration)
        : undefined;
    outcome = quantizeDynamic(model, { ...options, ...(hessians ? { hessians } : {}) });
  } else {
    if (!options.calibration || options.calibration.length === 0) throw new QuantizeError('static quantization needs calibration inputs');
    const tensors = calibrationTensors(model, options);
    // Calibrate the graph as calibrationTensors left it: with `fuse`, the tensors it names
    // exist only in the fused graph.
    const probe = editable(decodeModel(encodeModel(model)));
    for (const name of tensors) probe.graph.output.push({ name });
    const ranges = await calibrateRanges(
      encodeModel(probe),
      tensors,
      options.calibration.map((sample) => sample.feed),
    );
    outcome = quantizeStatic(model, ranges, options);
  }
  if (Object.keys(outcome.quantized).length === 0) {
    const why = outcome.leftInFp32.map((entry) => `${entry.node} (${entry.op}): ${entry.reason}`).join('; ');
    throw new QuantizeError(
      `nothing in this model can be quantized in ${options.mode} mode${why ? `: ${why}` : ' (no MatMul, Gemm or Conv with constant weights)'}`,
    );
  }
  const bytes = encodeModel(model);
  try {
    await (await ort.InferenceSession.create(bytes)).release();
  } catch (error) {
    throw new QuantizeError(`the quantized model does not load in onnxruntime (nothing was written): ${(error as Error).message}`);
  }
  return { bytes, outcome };
}

/** H = 2 XᵀX / n (damped) for each named tensor, from the rows the fp32 model gives it on the calibration samples. */
async function layerHessians(
  fp32: Uint8Array,
  tensors: readonly string[],
  calibration: readonly Sample[],
): Promise<Map<string, Float64Array>> {
  const probe = editable(decodeModel(fp32));
  const graphInputs = new Set(probe.graph.input.map((input) => input.name));
  for (const name of tensors) if (!graphInputs.has(name)) probe.graph.output.push({ name });
  const inputs = await collectLayerInputs(
    encodeModel(probe),
    tensors,
    calibration.map((sample) => sample.feed),
  );
  const hessians = new Map<string, Float64Array>();
  for (const [name, rows] of inputs) hessians.set(name, layerHessian(rows));
  return hessians;
}
