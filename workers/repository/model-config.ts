import { z } from 'zod';
import { DATATYPES } from '../protocol/datatypes.js';
import { MAX_TIMER_MS } from '../runtime/max-timer.js';

/** tfjs tensors are float32, int32, bool (or string, which no model here takes). */
const TF_DATATYPES: ReadonlySet<string> = new Set(['FP32', 'INT32', 'BOOL']);

/** Dims after the batch dim (when max_batch_size > 0); -1 marks a variable dim. */
const shape = z.array(
  z
    .number()
    .int()
    .refine((dim) => dim === -1 || dim > 0, 'dims are positive or -1'),
);

/**
 * An FP32 image input may also be sent as encoded images (BYTES: PNG, JPEG or WebP, one
 * per row); the worker decodes, resizes and normalises them: value = (pixel * scale - mean) / std,
 * with one mean and std per channel (by default 0 and 1). `channels: 1` feeds grayscale.
 */
const imageInput = z
  .strictObject({
    width: z.number().int().min(1),
    height: z.number().int().min(1),
    channels: z.union([z.literal(1), z.literal(3)]).default(3),
    fit: z.enum(['fill', 'cover', 'contain']).default('fill'),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    channel_order: z.enum(['RGB', 'BGR']).default('RGB'),
    scale: z.number().default(1 / 255),
    mean: z.array(z.number()).optional(),
    std: z.array(z.number().positive()).optional(),
  })
  .refine((image) => [image.mean, image.std].every((list) => list === undefined || list.length === image.channels), {
    message: 'mean and std hold one value per channel',
  })
  .transform((image) => ({
    ...image,
    mean: image.mean ?? new Array<number>(image.channels).fill(0),
    std: image.std ?? new Array<number>(image.channels).fill(1),
  }));

/** An FP32 input of shape [-1] may also be sent as WAV files (BYTES), decoded to mono at this rate. */
const audioInput = z.strictObject({
  sample_rate: z.number().int().min(1000).max(384_000),
});

const tensorSpec = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  shape,
  image: imageInput.optional(),
  audio: audioInput.optional(),
  /**
   * Outputs: a file in the model folder with one label per line, class index order (Triton's
   * label_filename): the classification extension writes "<value>:<index>:<label>".
   */
  label_filename: z
    .string()
    .regex(/^[\w-][\w.-]*$/, 'must be a file name in the model folder (letters, digits, ".", "_", "-")')
    .max(255)
    .optional(),
});

const weights = z.discriminatedUnion('source', [
  /** A file inside the version folder. */
  z.strictObject({ source: z.literal('file'), path: z.string().min(1) }),
  /** A file in the version folder that a project script writes (`npm run models:build`). */
  z.strictObject({ source: z.literal('build'), builder: z.string().min(1), path: z.string().min(1) }),
  /** A file inside an installed npm package, found at load time. */
  z.strictObject({ source: z.literal('npm'), package: z.string().min(1), path: z.string().min(1) }),
  /**
   * An int8 version of another version, written by `npm run quantize` (and rebuilt by
   * `npm run models:build` when missing): calibration is `random`, `text-lines` or a
   * folder of .npy files relative to the model folder.
   */
  z.strictObject({
    source: z.literal('quantized'),
    from_version: z.string().regex(/^[1-9][0-9]*$/),
    mode: z.enum(['dynamic', 'static']),
    calibration: z.string().min(1).optional(),
    /** Static mode's activation type: uint8 (default) or int8 (S8S8 QDQ, what TensorRT takes). */
    activations: z.enum(['int8', 'uint8']).optional(),
    path: z.string().min(1),
  }),
]);

const versionPolicy = z.union([
  z.strictObject({ latest: z.strictObject({ num_versions: z.number().int().min(1) }) }),
  z.strictObject({ specific: z.strictObject({ versions: z.array(z.number().int().min(1)).min(1) }) }),
  z.strictObject({ all: z.strictObject({}) }),
]);

const dynamicBatching = z.strictObject({
  /** Batch sizes (rows) worth sending at once without waiting for the delay. */
  preferred_batch_sizes: z.array(z.number().int().min(1)).default([]),
  /** Longest time the oldest request waits for a batch to fill while instances are busy. */
  max_queue_delay_ms: z.number().min(0).max(10_000).default(2),
  /** Requests waiting beyond this are refused with 503 queue_full. */
  max_queue_size: z.number().int().min(1).default(1024),
  /** Timeout of a request that sets none. */
  default_timeout_ms: z.number().int().min(1).max(MAX_TIMER_MS).default(30_000),
});

/** A model's name, which is also its folder: no separators, no leading dot. */
export const MODEL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Serving settings `npm run tune` chose for one version on one kind of machine: they replace
 * the hand-written instance_group.count, intra_op_threads and dynamic_batching sizes there.
 */
const tunedSettings = z.strictObject({
  instance_count: z.number().int().min(1).max(64),
  intra_op_threads: z.number().int().min(1),
  /** Rows the batcher puts in one batch; requests up to the model's max_batch_size are still taken. */
  max_batch_size: z.number().int().min(0).max(4096),
  preferred_batch_sizes: z.array(z.number().int().min(1)).default([]),
  max_queue_delay_ms: z.number().min(0).max(10_000),
  /** What the instances ran on when it was measured (cpu, cuda, tfjs-node...). */
  provider: z.string().min(1),
  /** The measurement behind the choice, for people reading the config. */
  measured: z
    .strictObject({
      throughput_per_s: z.number().min(0),
      p50_ms: z.number().min(0),
      p95_ms: z.number().min(0),
      latency_budget_ms: z.number().min(0),
      concurrency: z.number().int().min(1),
      date: z.string().min(1),
    })
    .optional(),
});

/**
 * Answers kept for repeated inputs (gateway/cache/): off unless enabled. `max_bytes` bounds
 * the model's entries (embedded: this process's memory; distributed: its share of Redis),
 * `ttl_s` how long an answer is reused; `tenant` scope keys entries by tenant, `global`
 * lets every tenant allowed to call the model reuse one answer.
 */
const responseCache = z.strictObject({
  enabled: z.boolean().default(false),
  max_bytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 ** 3)
    .default(64 * 1024 ** 2),
  ttl_s: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .default(3600),
  scope: z.enum(['tenant', 'global']).default('tenant'),
});

export const modelConfigSchema = z
  .strictObject({
    name: z.string().regex(MODEL_NAME, 'letters, digits, . _ - only'),
    platform: z.enum(['onnx', 'tf']),
    /** How a TF model is stored (platform tf only; default graph). saved_model needs tfjs-node. */
    format: z.enum(['graph', 'layers', 'saved_model']).optional(),
    /**
     * The worker pool that serves the model (default: the platform). Runtimes need
     * different CUDA stacks, so GPU pools and their images are per runtime.
     */
    pool: z
      .string()
      .regex(/^[\w.-]+$/, 'letters, digits, . _ - only')
      .optional(),
    description: z.string().optional(),
    versions: z.record(z.string().regex(/^[1-9][0-9]*$/, 'version keys are positive integers'), z.strictObject({ weights })),
    version_policy: versionPolicy.default({ latest: { num_versions: 1 } }),
    /**
     * The version a request that names none gets; by default the highest served. Lets an
     * int8 version be served (to routes, or by number) without becoming the default.
     */
    default_version: z
      .string()
      .regex(/^[1-9][0-9]*$/)
      .optional(),
    /** 0: the model takes whole tensors and never batches; > 0: dim 0 is the batch dim. */
    max_batch_size: z.number().int().min(0).max(4096),
    inputs: z.array(tensorSpec).min(1),
    outputs: z.array(tensorSpec).min(1),
    dynamic_batching: dynamicBatching.default(dynamicBatching.parse({})),
    /**
     * Distributed mode: how long a request to a version with no live worker (a pool scaled to
     * zero) waits queued for one to start, within its own timeout, before 503 model_not_ready.
     */
    cold_start: z.strictObject({ max_wait_ms: z.number().int().min(0).max(3_600_000).default(120_000) }).default({ max_wait_ms: 120_000 }),
    /**
     * Distributed mode: how many queues each version is served through. Gateways spread jobs
     * over them, workers consume all of them; in a Redis Cluster each is its own slot, so a hot
     * version can use several shards. Priority holds within a queue; order across them is not kept.
     */
    queue_partitions: z.number().int().min(1).max(64).default(1),
    response_cache: responseCache.default({ enabled: false, max_bytes: 64 * 1024 ** 2, ttl_s: 3600, scope: 'tenant' }),
    instance_group: z
      .strictObject({
        count: z.number().int().min(1).max(64).default(1),
        kind: z.enum(['auto', 'cpu', 'gpu']).default('auto'),
        gpus: z.array(z.number().int().min(0)).default([0]),
      })
      .default({ count: 1, kind: 'auto', gpus: [0] }),
    /** Tried in order; CUDA is skipped where its provider libraries are not installed. */
    execution_providers: z
      .array(z.enum(['cuda', 'cpu']))
      .min(1)
      .default(['cuda', 'cpu']),
    /** Threads per instance; by default the cores divided among the model's instances. */
    intra_op_threads: z.number().int().min(1).optional(),
    warmup: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Rows to warm up at; by default every preferred size (or 1 and max_batch_size). */
        batch_sizes: z.array(z.number().int().min(1)).optional(),
        /** Concrete values for variable (-1) dims, per input. */
        dims: z.record(z.string(), z.array(z.number().int().min(1))).default({}),
      })
      .default({ enabled: true, dims: {} }),
    /** Per hardware key (`cpu:<model> x<cores>` or `gpu:<name>`), per version: see workers/pool/hardware.ts. */
    tuned: z.record(z.string().min(1), z.record(z.string().regex(/^[1-9][0-9]*$/), tunedSettings)).default({}),
    /** Most perturbed rows one explain request may run (all its rows and inputs); 400 explain_too_many_rows above. Default 10000. */
    max_explain_rows: z.number().int().min(1).max(1_000_000).optional(),
    price: z.strictObject({
      usd_per_compute_second: z.number().min(0),
      usd_per_request: z.number().min(0).default(0),
      /** Compute time a budget reserves per request before the actual cost is known. */
      reserve_compute_ms: z.number().min(0).default(100),
    }),
  })
  .superRefine((config, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    config.dynamic_batching.preferred_batch_sizes.forEach((size, index) => {
      if (size > config.max_batch_size) {
        issue(['dynamic_batching', 'preferred_batch_sizes', index], `${size} is larger than max_batch_size (${config.max_batch_size})`);
      }
    });
    for (const list of ['inputs', 'outputs'] as const) {
      const seen = new Set<string>();
      config[list].forEach((tensor, index) => {
        if (seen.has(tensor.name)) issue([list, index, 'name'], `duplicate name "${tensor.name}"`);
        seen.add(tensor.name);
      });
    }
    config.inputs.forEach((input, index) => {
      if (input.label_filename !== undefined) issue(['inputs', index, 'label_filename'], 'labels belong to outputs');
    });
    for (const list of ['inputs', 'outputs'] as const) {
      config[list].forEach((tensor, index) => {
        if (config.platform === 'onnx' && tensor.datatype === 'BF16')
          issue([list, index, 'datatype'], 'onnxruntime-node has no BF16 tensors');
        if (config.platform === 'tf' && !TF_DATATYPES.has(tensor.datatype))
          issue([list, index, 'datatype'], `the TF runtime takes ${[...TF_DATATYPES].join(', ')} tensors`);
      });
    }
    if (config.format !== undefined && config.platform !== 'tf') issue(['format'], 'format applies to platform tf only');
    config.inputs.forEach((input, index) => {
      if (input.audio && (input.datatype !== 'FP32' || input.shape.join(',') !== '-1' || config.max_batch_size === 0)) {
        issue(['inputs', index, 'audio'], 'an audio input is FP32 of shape [-1] in a model with a batch dim');
      }
      if (!input.image) return;
      const { width, height, layout, channels } = input.image;
      const expected = layout === 'NCHW' ? [channels, height, width] : [height, width, channels];
      if (input.datatype !== 'FP32' || input.shape.join(',') !== expected.join(',')) {
        issue(
          ['inputs', index, 'image'],
          `an image input is FP32 of shape [${expected.join(',')}] (${layout}, ${width}x${height}, ${channels} channel(s))`,
        );
      }
    });
    if (Object.keys(config.versions).length === 0) issue(['versions'], 'at least one version is needed');
    for (const [version, { weights }] of Object.entries(config.versions)) {
      if (weights.source !== 'quantized') continue;
      const from = config.versions[weights.from_version];
      if (!from) issue(['versions', version, 'weights', 'from_version'], `version ${weights.from_version} is not in versions`);
      else if (from.weights.source === 'quantized')
        issue(['versions', version, 'weights', 'from_version'], 'quantize from an fp32 version, not another quantized one');
      if (config.platform !== 'onnx') issue(['versions', version, 'weights', 'source'], 'only ONNX models are quantized');
      if (weights.mode === 'static' && !weights.calibration)
        issue(
          ['versions', version, 'weights', 'calibration'],
          'static quantization needs calibration: random, text-lines or a folder of .npy files',
        );
    }
    for (const [hardware, versions] of Object.entries(config.tuned)) {
      for (const [version, tuned] of Object.entries(versions)) {
        const at = ['tuned', hardware, version];
        if (!(version in config.versions)) issue(at, `version ${version} is not in versions`);
        if (config.max_batch_size === 0 && tuned.max_batch_size !== 0)
          issue([...at, 'max_batch_size'], 'the model does not batch (max_batch_size 0)');
        if (config.max_batch_size > 0 && (tuned.max_batch_size < 1 || tuned.max_batch_size > config.max_batch_size)) {
          issue([...at, 'max_batch_size'], `between 1 and the model's max_batch_size (${config.max_batch_size})`);
        }
        tuned.preferred_batch_sizes.forEach((size, index) => {
          if (size <= tuned.max_batch_size) return;
          issue([...at, 'preferred_batch_sizes', index], `${size} is larger than the tuned max_batch_size (${tuned.max_batch_size})`);
        });
      }
    }
    if (config.default_version !== undefined && !(config.default_version in config.versions))
      issue(['default_version'], `version ${config.default_version} is not in versions`);
    if ('specific' in config.version_policy) {
      config.version_policy.specific.versions.forEach((version, index) => {
        if (!(String(version) in config.versions))
          issue(['version_policy', 'specific', 'versions', index], `version ${version} is not in versions`);
      });
    }
    config.warmup.batch_sizes?.forEach((size, index) => {
      if (size > Math.max(1, config.max_batch_size)) issue(['warmup', 'batch_sizes', index], `${size} is larger than max_batch_size`);
    });
    if (config.warmup.enabled) {
      config.inputs.forEach((input, index) => {
        const variable = input.shape.filter((dim) => dim === -1).length;
        const given = config.warmup.dims[input.name];
        if (variable > 0 && given?.length !== variable) {
          issue(
            ['warmup', 'dims', input.name],
            `input ${index} ("${input.name}") has ${variable} variable dim(s): give ${variable} value(s) to warm up with`,
          );
        }
      });
    }
  })
  .transform((config) => ({
    ...config,
    pool: config.pool ?? config.platform,
    format: config.platform === 'tf' ? (config.format ?? 'graph') : undefined,
  }));

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type TensorSpec = ModelConfig['inputs'][number];
export type ImageInputSpec = NonNullable<TensorSpec['image']>;
export type AudioInputSpec = NonNullable<TensorSpec['audio']>;
export type WeightsSource = ModelConfig['versions'][string]['weights'];
export type ResponseCacheConfig = ModelConfig['response_cache'];

const servedCache = new WeakMap<ModelConfig, readonly string[]>();

/** Versions the policy serves, highest first (computed once per config: it is on every request's path). */
export function servedVersions(config: ModelConfig): readonly string[] {
  let served = servedCache.get(config);
  if (!served) {
    served = computeServedVersions(config);
    servedCache.set(config, served);
  }
  return served;
}

/** The version a request that names none is served by. */
export function defaultVersion(config: ModelConfig): string | undefined {
  const served = servedVersions(config);
  return config.default_version !== undefined && served.includes(config.default_version) ? config.default_version : served[0];
}

function computeServedVersions(config: ModelConfig): string[] {
  const available = Object.keys(config.versions)
    .map(Number)
    .sort((a, b) => b - a);
  const policy = config.version_policy;
  if ('latest' in policy) return available.slice(0, policy.latest.num_versions).map(String);
  if ('specific' in policy) return available.filter((v) => policy.specific.versions.includes(v)).map(String);
  return available.map(String);
}
