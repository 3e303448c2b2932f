import type { ModelDefinition } from '../../workers/repository/load-repository.js';

/** model_config.proto names BYTES TYPE_STRING; every other datatype is TYPE_ and its name. */
const DATA_TYPES: Readonly<Record<string, string>> = { BYTES: 'TYPE_STRING' };

/**
 * Switchyard's model configuration in model_config.proto's terms (the fields it has): gRPC's
 * ModelConfig answer, and what the HTTP config answer says wherever Triton names the same thing
 * (platform, input, output, instance_group, dynamic_batching), so code written against Triton
 * reads either protocol alike (image_client.py: `input[0].format`; `instance_group[0]`).
 */
export function tritonConfig(config: ModelDefinition['config'], platform: string) {
  const tensors = (list: typeof config.inputs) =>
    list.map((tensor) => ({ name: tensor.name, data_type: DATA_TYPES[tensor.datatype] ?? `TYPE_${tensor.datatype}`, dims: tensor.shape }));
  const { kind, count } = config.instance_group;
  return {
    name: config.name,
    platform,
    backend: config.platform === 'onnx' ? 'onnxruntime' : 'tensorflow',
    max_batch_size: config.max_batch_size,
    input: tensors(config.inputs).map((input, index) => {
      const image = config.inputs[index]!.image;
      return { ...input, format: image ? `FORMAT_${image.layout}` : 'FORMAT_NONE' };
    }),
    output: tensors(config.outputs).map((output, index) => {
      const labels = config.outputs[index]!.label_filename;
      return labels !== undefined ? { ...output, label_filename: labels } : output;
    }),
    dynamic_batching: {
      preferred_batch_size: config.dynamic_batching.preferred_batch_sizes,
      max_queue_delay_microseconds: Math.round(config.dynamic_batching.max_queue_delay_ms * 1000),
      default_queue_policy: {
        max_queue_size: config.dynamic_batching.max_queue_size,
        default_timeout_microseconds: config.dynamic_batching.default_timeout_ms * 1000,
      },
    },
    instance_group: [
      {
        name: config.name,
        count,
        kind: kind === 'gpu' ? 'KIND_GPU' : kind === 'cpu' ? 'KIND_CPU' : 'KIND_AUTO',
        ...(kind === 'cpu' ? {} : { gpus: config.instance_group.gpus }),
      },
    ],
  };
}
