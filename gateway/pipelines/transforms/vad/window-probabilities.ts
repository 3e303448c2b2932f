import type { Tensor } from '../../../../workers/protocol/tensor.js';
import type { TransformContext } from '../transform.js';

/** Speech probability per consecutive window of the audio. */
export interface WindowProbabilities {
  readonly window_s: number;
  readonly values: readonly number[];
}

export interface RecurrentModel {
  readonly model: string;
  readonly version?: string;
  readonly sampleRate: number;
  readonly windowSamples: number;
}

/** Silero v4's LSTM state: [2 layers, batch 1, 64 units] for h and c alike. */
const STATE_SIZE = 2 * 64;

/**
 * Runs a Silero-style VAD over consecutive windows, one request each, feeding each
 * window the state the previous one returned: the loop is sequential by nature, so one
 * clip's windows never batch (and the model does not batch; see its config). The last
 * window is padded with silence.
 */
export async function windowProbabilities(
  samples: Float32Array,
  vad: RecurrentModel,
  context: TransformContext,
): Promise<WindowProbabilities> {
  const values: number[] = [];
  let h: Float32Array = new Float32Array(STATE_SIZE);
  let c: Float32Array = new Float32Array(STATE_SIZE);
  for (let offset = 0; offset < samples.length; offset += vad.windowSamples) {
    const window = new Float32Array(vad.windowSamples);
    window.set(samples.subarray(offset, offset + vad.windowSamples));
    // Fresh tensors per request: their buffers are handed to the runtime thread.
    const inputs: Tensor[] = [
      { name: 'input', datatype: 'FP32', shape: [1, vad.windowSamples], data: window },
      { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.of(BigInt(vad.sampleRate)) },
      { name: 'h', datatype: 'FP32', shape: [2, 1, 64], data: h },
      { name: 'c', datatype: 'FP32', shape: [2, 1, 64], data: c },
    ];
    const outputs = await context.callModel(vad.model, inputs, vad.version);
    const probability = outputs.get('output')?.data[0];
    const hn = outputs.get('hn')?.data;
    const cn = outputs.get('cn')?.data;
    if (typeof probability !== 'number' || !(hn instanceof Float32Array) || !(cn instanceof Float32Array)) {
      throw new Error(`model "${vad.model}" did not return output, hn and cn as FP32`);
    }
    values.push(probability);
    h = hn;
    c = cn;
  }
  return { window_s: vad.windowSamples / vad.sampleRate, values };
}
