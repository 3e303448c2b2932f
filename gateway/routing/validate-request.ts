import { ServingError } from '../../workers/protocol/errors.js';
import { isUtf8 } from 'node:buffer';
import { walkBytesElements } from '../../workers/protocol/tensor.js';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';
import type { TensorSpec } from '../../workers/repository/model-config.js';
import { classifiable } from '../protocol/classification.js';
import type { ParsedInferRequest } from '../protocol/parse-infer-request.js';
import type { ResolvedModel } from './resolve-model.js';

export interface RequestContext {
  readonly requestId: string;
  readonly now: number;
  readonly traceparent?: string;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** `dims` are the tensor's dims after any batch dim; `shape` is the whole shape, for the message. */
function checkDims(spec: TensorSpec, dims: readonly number[], shape: readonly number[], modelShape: string): void {
  const fits = dims.length === spec.shape.length && spec.shape.every((dim, i) => (dim === -1 ? dims[i]! >= 1 : dim === dims[i]));
  if (fits) return;
  const empty = dims.length === spec.shape.length && dims.some((dim, i) => dim === 0 && spec.shape[i] === -1);
  throw new ServingError(
    'shape_mismatch',
    empty
      ? `input "${spec.name}": shape ${shapeText(shape)} has a zero-size dimension, which Switchyard does not run (every variable dimension of ${modelShape} must be at least 1)`
      : `input "${spec.name}": shape ${shapeText(shape)} does not match the model's ${modelShape}`,
  );
}

/**
 * onnxruntime-node holds string tensors as JavaScript strings and hands them to the runtime as
 * C strings: bytes that are not UTF-8 would be replaced and a NUL would end the element early,
 * so the model would silently see other data than was sent.
 */
function checkOnnxStrings(spec: TensorSpec, data: Uint8Array): void {
  let failure: string | undefined;
  // One pass over the bytes: ASCII without NUL (almost all text) needs no decoder.
  walkBytesElements(data, (start, end, index) => {
    let ascii = true;
    for (let at = start; at < end; at += 1) {
      const byte = data[at]!;
      if (byte === 0) {
        failure = `BYTES element ${index} holds a NUL byte, which an ONNX string tensor cannot hold`;
        return false;
      }
      if (byte >= 0x80) ascii = false;
    }
    if (!ascii && !isUtf8(data.subarray(start, end))) {
      failure = `BYTES element ${index} is not UTF-8 text, which an ONNX string tensor needs`;
      return false;
    }
    return true;
  });
  if (failure) throw new ServingError('datatype_mismatch', `input "${spec.name}": ${failure}`);
}

/**
 * Checks a parsed request against its model's inputs and outputs and returns the only
 * request type a scheduler takes. Requests can only batch with others of the same signature.
 */
export function validateRequest(parsed: ParsedInferRequest, model: ResolvedModel, context: RequestContext): ValidInferRequest {
  const { config } = model.definition;
  const batching = config.max_batch_size > 0;
  const byName = new Map(parsed.inputs.map((tensor) => [tensor.name, tensor]));
  if (byName.size !== parsed.inputs.length) throw new ServingError('unknown_input', 'an input is given more than once');
  for (const tensor of parsed.inputs) {
    if (!config.inputs.some((spec) => spec.name === tensor.name)) {
      throw new ServingError(
        'unknown_input',
        `model "${config.name}" has no input "${tensor.name}" (inputs: ${config.inputs.map((s) => s.name).join(', ')})`,
      );
    }
  }

  let rows: number | undefined;
  const signature: string[] = [];
  const inputs = config.inputs.map((spec) => {
    const tensor = byName.get(spec.name);
    if (!tensor) throw new ServingError('missing_input', `model "${config.name}" needs input "${spec.name}"`);
    if ((spec.image || spec.audio) && tensor.datatype === 'BYTES') {
      // Encoded media, one file per row; the worker decodes them (and fixes the signature).
      const kind = spec.image ? 'images' : 'audio files';
      const count = tensor.shape[0] ?? 0;
      if (tensor.shape.length !== 1 || count < 1)
        throw new ServingError('shape_mismatch', `input "${spec.name}": ${kind} go as BYTES of shape [n]`);
      if (count > Math.max(1, config.max_batch_size))
        throw new ServingError(
          'batch_too_large',
          `input "${spec.name}": ${count} ${kind} is over the model's max_batch_size of ${config.max_batch_size}`,
        );
      if (rows !== undefined && rows !== count)
        throw new ServingError('shape_mismatch', `input "${spec.name}": ${count} ${kind} differ from the other inputs' ${rows} rows`);
      rows = count;
      signature.push(`${spec.name}:${spec.shape.join('x')}`);
      return tensor;
    }
    if (tensor.datatype !== spec.datatype) {
      throw new ServingError(
        'datatype_mismatch',
        `input "${spec.name}": datatype ${tensor.datatype} does not match the model's ${spec.datatype}${spec.image ? ' (or BYTES images)' : spec.audio ? ' (or BYTES WAV files)' : ''}`,
      );
    }
    if (spec.datatype === 'BYTES' && config.platform === 'onnx') checkOnnxStrings(spec, tensor.data as Uint8Array);
    if (!batching) {
      checkDims(spec, tensor.shape, tensor.shape, shapeText(spec.shape));
    } else {
      const modelShape = shapeText([-1, ...spec.shape]);
      const [batch, ...dims] = tensor.shape;
      if (batch === undefined || batch < 1)
        throw new ServingError(
          'shape_mismatch',
          `input "${spec.name}": shape ${shapeText(tensor.shape)} needs a batch dim >= 1 to match the model's ${modelShape}`,
        );
      checkDims(spec, dims, tensor.shape, modelShape);
      if (batch > config.max_batch_size) {
        throw new ServingError(
          'batch_too_large',
          `input "${spec.name}": batch of ${batch} is over the model's max_batch_size of ${config.max_batch_size}`,
        );
      }
      if (rows !== undefined && rows !== batch) {
        throw new ServingError('shape_mismatch', `input "${spec.name}": batch dim ${batch} differs from the other inputs' ${rows}`);
      }
      rows = batch;
    }
    signature.push(`${spec.name}:${tensor.shape.slice(batching ? 1 : 0).join('x')}`);
    return tensor;
  });

  for (const output of parsed.outputs) {
    const spec = config.outputs.find((candidate) => candidate.name === output.name);
    if (!spec) {
      throw new ServingError(
        'unknown_output',
        `model "${config.name}" has no output "${output.name}" (outputs: ${config.outputs.map((s) => s.name).join(', ')})`,
      );
    }
    if (output.classification && !classifiable(spec.datatype)) {
      throw new ServingError(
        'invalid_parameter',
        `output "${output.name}" is ${spec.datatype}: classification ranks integer, FP32 and FP64 outputs`,
      );
    }
  }

  const timeoutMs = parsed.timeoutMs ?? config.dynamic_batching.default_timeout_ms;
  return {
    requestId: context.requestId,
    model: config.name,
    version: model.version,
    inputs,
    outputs: parsed.outputs.map((output) => output.name),
    rows: rows ?? 1,
    signature: signature.join('|'),
    deadline: context.now + timeoutMs,
    priority: parsed.priority ?? 0,
    ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
  };
}
