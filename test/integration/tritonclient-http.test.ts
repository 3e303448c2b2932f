import { execFile, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { MlpReference } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_URL, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * NVIDIA's tritonclient.http, run as an outside process (test/interop/tritonclient_http.py)
 * against spawned gateways: open, and with tenants. The client is not part of Switchyard:
 * TRITONCLIENT_PY points at it (CI: ../shared/tools/tritonclient-py), and Debian's python3
 * packages (its README lists them) must be installed.
 */
const CLIENT = process.env.TRITONCLIENT_PY;
const PYTHON = process.env.TRITONCLIENT_PYTHON ?? '/usr/bin/python3';
const SCRIPT = resolve(import.meta.dirname, '../interop/tritonclient_http.py');

function whyMissing(): string | undefined {
  if (!CLIENT) return 'TRITONCLIENT_PY is not set (point it at a tritonclient-py folder; .ci/run uses ../shared/tools/tritonclient-py)';
  if (!existsSync(join(CLIENT, 'tritonclient', 'http', '__init__.py'))) return `TRITONCLIENT_PY=${CLIENT} holds no tritonclient/http`;
  const imports = 'import numpy, gevent, geventhttpclient, rapidjson, tritonclient.http';
  const probe = spawnSync(PYTHON, ['-c', imports], { env: { PYTHONPATH: CLIENT }, encoding: 'utf8' });
  if (probe.status !== 0) {
    const reason = (probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? '').slice(0, 200);
    return `${PYTHON} cannot import tritonclient.http (apt-get install python3-numpy python3-gevent python3-geventhttpclient python3-rapidjson): ${reason}`;
  }
  return undefined;
}

const missing = whyMissing();
if (missing) console.warn(`SKIPPED tritonclient.http interop tests: ${missing}`);
const suite = missing ? describe.skip : describe;

type Answer = { ok: true; value: unknown } | { ok: false; status: string | null; message: string };
type Answers = Record<string, Answer>;

const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64', 'FP16', 'FP32', 'FP64'] as const;
const NUMPY_TYPES: Record<string, string> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  INT8: 'int8',
  UINT16: 'uint16',
  INT16: 'int16',
  UINT32: 'uint32',
  INT32: 'int32',
  UINT64: 'uint64',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
};
/** mlp-classifier's class names in the test repository (its label_filename). */
const LABELS = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu', 'hen', 'ibis', 'jay'];
const ADMIN_KEY = 'interop-admin-key';
const USER_KEY = 'interop-user-key';

async function runClient(gateway: Spawned & { url: string }, role: string, key?: string): Promise<Answers> {
  if (gateway.process.exitCode !== null) throw new Error(`the gateway exited:\n${gateway.output()}`);
  const url = gateway.url;
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, url, role, ...(key ? [key] : [])], {
    env: { PYTHONPATH: CLIENT!, PATH: process.env.PATH ?? '' },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Answers;
}

const value = (answers: Answers, call: string): unknown => {
  const answer = answers[call];
  if (!answer?.ok) throw new Error(`${call} failed: ${JSON.stringify(answer)}`);
  return answer.value;
};
const status = (answers: Answers, call: string): string | null | undefined => {
  const answer = answers[call];
  return answer && !answer.ok ? answer.status : `ok: ${JSON.stringify(answer).slice(0, 200)}`;
};

suite('tritonclient.http against a live gateway', () => {
  let repository: TestRepository;
  let reference: MlpReference;
  const spawned: Spawned[] = [];
  let open: Spawned & { url: string };
  let tenants: Spawned & { url: string };

  beforeAll(async () => {
    repository = new TestRepository().copy('mlp-classifier', {
      warmup: { enabled: true, batch_sizes: [1] },
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [10], label_filename: 'labels.txt' }],
    });
    writeFileSync(join(repository.dir, 'mlp-classifier', 'labels.txt'), `${LABELS.join('\n')}\n`);
    repository.add(
      'echo',
      {
        platform: 'onnx',
        versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
        max_batch_size: 8,
        inputs: [
          { name: 's', datatype: 'BYTES', shape: [2] },
          { name: 'n', datatype: 'INT64', shape: [3] },
        ],
        outputs: [
          { name: 'out_s', datatype: 'BYTES', shape: [2] },
          { name: 'out_n', datatype: 'INT64', shape: [3] },
        ],
        price: { usd_per_compute_second: 0 },
      },
      {
        '1/model.onnx': buildIdentityModel([
          { name: 's', datatype: 'BYTES', dims: ['batch', 2] },
          { name: 'n', datatype: 'INT64', dims: ['batch', 3] },
        ]),
      },
    );
    const typed = DATATYPES.map((datatype) => ({ name: `t_${datatype.toLowerCase()}`, datatype, shape: [3] }));
    repository.add(
      'typed',
      {
        platform: 'onnx',
        versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
        max_batch_size: 8,
        inputs: typed,
        outputs: typed.map((tensor) => ({ ...tensor, name: `out_${tensor.name}` })),
        price: { usd_per_compute_second: 0 },
      },
      { '1/model.onnx': buildIdentityModel(typed.map((tensor) => ({ name: tensor.name, datatype: tensor.datatype, dims: ['batch', 3] }))) },
    );
    const configFile = join(repository.dir, 'tenants.yaml');
    writeFileSync(
      configFile,
      stringify({
        tenants: [
          { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(ADMIN_KEY) }] },
          { name: 'app', keys: [{ sha256: hashKey(USER_KEY) }], models: ['mlp-classifier'] },
        ],
      }),
    );
    const env = { MODEL_REPOSITORY: repository.dir, CPU_COUNT: '1', LOG_LEVEL: 'warn' };
    open = await spawnGateway(env);
    spawned.push(open);
    // The wrong-key calls below would soon be answered 429 by the per-address failure limit.
    tenants = await spawnGateway({ ...env, SWITCHYARD_CONFIG: configFile, AUTH_FAILURE_LIMIT: '1000' });
    spawned.push(tenants);
    reference = await MlpReference.load();
  });

  afterAll(async () => {
    for (const child of spawned) child.kill('SIGKILL');
    await reference?.close();
    repository?.remove();
  });

  /** Every infer call's rows are the model's answers for their seeds, whatever the encoding. */
  async function expectReferenceOutputs(answers: Answers, call: string): Promise<void> {
    const result = value(answers, call) as { seeds: number[]; outputs: number[][] };
    expect(result.outputs).toHaveLength(result.seeds.length);
    for (const [row, seed] of result.seeds.entries())
      expect(await reference.matches(seed, result.outputs[row]!), `${call} seed ${seed}`).toBe(true);
  }

  /** An admin's (or an open gateway's) answers; `embedded` adds the repository load and unload cycle. */
  async function expectAdminAnswers(answers: Answers, gateway: Spawned, mode: 'embedded' | 'distributed' = 'embedded'): Promise<void> {
    expect(value(answers, 'is_server_live')).toBe(true);
    expect(value(answers, 'is_server_ready')).toBe(true);
    expect(value(answers, 'is_model_ready')).toBe(true);
    expect(value(answers, 'is_model_ready_version')).toBe(true);
    expect(value(answers, 'is_model_ready_unknown')).toBe(false);
    const extensions = expect.arrayContaining(['binary_tensor_data', 'classification', 'model_repository', 'statistics', 'logging']);
    expect(value(answers, 'get_server_metadata')).toMatchObject({ name: 'switchyard', extensions });
    expect(value(answers, 'get_model_metadata')).toMatchObject({
      name: 'mlp-classifier',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 512] }],
    });
    expect(status(answers, 'get_model_metadata_unknown')).toBe('404');
    expect(value(answers, 'get_model_config')).toMatchObject({ name: 'mlp-classifier', max_batch_size: 64 });
    // Triton's own field names too, as its clients read them (image_client.py's parse_model).
    expect(value(answers, 'get_model_config_triton_view')).toEqual({
      max_batch_size: 64,
      input: [{ name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [512] }],
      output: [{ name: 'probabilities', data_type: 'TYPE_FP32', dims: [10], label_filename: 'labels.txt' }],
      // As gRPC's ModelConfig names them: the same Triton-shaped code reads either protocol.
      platform: 'onnxruntime_onnx',
      instance_group_kind: 'KIND_AUTO',
      max_queue_delay_microseconds: expect.any(Number),
    });

    const inferCalls = [
      'infer_json',
      'infer_binary',
      'infer_binary_in_json_out',
      'infer_json_in_binary_out',
      'infer_gzip',
      'infer_deflate',
      'infer_version',
      'infer_options',
    ];
    for (const call of inferCalls) {
      expect(value(answers, call), call).toMatchObject({ id: 'interop-1', model_version: '1' });
      await expectReferenceOutputs(answers, call);
    }
    await expectReferenceOutputs(answers, 'async_infer');
    // The classification extension, as Triton answers it: BYTES [rows, N], "<value>:<index>:<label>", highest first.
    for (const [call, count] of [
      ['infer_classification_json', 3],
      ['infer_classification_binary', 3],
      ['infer_classification_all', 10],
    ] as const) {
      const { seeds, shape, datatype, rows, expected } = value(answers, call) as {
        seeds: number[];
        shape: number[];
        datatype: string;
        rows: string[][];
        expected: string[][];
      };
      expect({ shape, datatype }, call).toEqual({ shape: [seeds.length, count], datatype: 'BYTES' });
      expect(rows, call).toEqual(expected.map((row) => row.map((entry) => `${entry}:${LABELS[Number(entry.split(':')[1])]}`)));
    }
    for (const call of ['infer_bytes_json', 'infer_bytes_binary']) {
      expect(value(answers, call), call).toEqual({ s: ['a b,c', 'é'], n: [-(2 ** 40), 0, 2 ** 40] });
    }
    for (const call of ['infer_datatypes_json', 'infer_datatypes_binary']) {
      const { sent, received } = value(answers, call) as {
        sent: Record<string, unknown[]>;
        received: Record<string, { dtype: string; values: unknown[] }>;
      };
      for (const datatype of DATATYPES)
        expect(received[datatype], `${call} ${datatype}`).toEqual({ dtype: NUMPY_TYPES[datatype], values: sent[datatype] });
    }
    expect(status(answers, 'infer_unknown_model')).toBe('404');
    expect(status(answers, 'infer_bad_shape')).toBe('400');
    expect(status(answers, 'infer_bad_datatype')).toBe('400');
    expect(status(answers, 'infer_unknown_input')).toBe('400');
    expect(status(answers, 'infer_shared_memory')).toBe('501');

    const stats = value(answers, 'get_inference_statistics') as { model_stats: { name: string }[] };
    expect(stats.model_stats.map((entry) => entry.name)).toEqual(expect.arrayContaining(['mlp-classifier', 'echo']));
    const versionStats = value(answers, 'get_inference_statistics_version') as {
      model_stats: { name: string; version: string; inference_count: number }[];
    };
    expect(versionStats.model_stats).toEqual([expect.objectContaining({ name: 'mlp-classifier', version: '1' })]);
    if (mode === 'embedded') {
      expect(versionStats.model_stats[0]!.inference_count).toBeGreaterThanOrEqual(40 * 6 + 1 + 6);
    } else {
      // Distributed statistics are what the workers last reported (every HEARTBEAT_MS): the client may
      // have asked before the report that counts its inferences, so wait for it here.
      await expect
        .poll(
          async () => {
            const reply = await fetch(`${gateway.url}/v2/models/mlp-classifier/versions/1/stats`);
            const body = (await reply.json()) as { model_stats: { inference_count: number }[] };
            return body.model_stats[0]?.inference_count ?? 0;
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBeGreaterThanOrEqual(40 * 6 + 1 + 6);
    }
    expect(value(answers, 'get_inference_statistics_model')).toMatchObject({ model_stats: [{ name: 'mlp-classifier' }] });
    expect(value(answers, 'get_model_repository_index')).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'echo', state: 'READY' })]),
    );

    expect(status(answers, 'load_model_config_override')).toBe('501');
    if (mode === 'embedded') {
      expect(value(answers, 'unload_model')).toBeNull();
      expect(value(answers, 'is_model_ready_after_unload')).toBe(false);
      expect(['404', '503']).toContain(status(answers, 'infer_after_unload'));
      expect(value(answers, 'load_model')).toBeNull();
      expect(value(answers, 'is_model_ready_after_load')).toBe(true);
      expect(status(answers, 'load_model_unknown')).toBe('404');
    } else {
      // Worker pools decide what they load: the repository calls are 501, and the model stays served.
      for (const call of ['unload_model', 'load_model', 'load_model_unknown']) expect(status(answers, call), call).toBe('501');
      expect(value(answers, 'is_model_ready_after_unload')).toBe(true);
      await expectReferenceOutputs(answers, 'infer_after_unload');
    }
    expectSharedMemoryAnswers(answers);
    expect(value(answers, 'get_trace_settings')).toMatchObject({ trace_level: ['OFF'] });
    expect(value(answers, 'get_trace_settings_model')).toMatchObject({ trace_level: ['OFF'] });
    expect(status(answers, 'update_trace_settings')).toBe('501');
    expect(value(answers, 'get_log_settings')).toMatchObject({ log_info: false, log_warning: true, log_error: true, log_verbose_level: 0 });
    expect(value(answers, 'update_log_settings')).toMatchObject({ log_verbose_level: 1 });
    expect(value(answers, 'update_log_settings_back')).toMatchObject({ log_info: true, log_verbose_level: 0 });
    expect(status(answers, 'update_log_settings_file')).toBe('501');
    expect(gateway.process.exitCode).toBeNull();
  }

  function expectSharedMemoryAnswers(answers: Answers): void {
    expect(value(answers, 'get_system_shared_memory_status')).toEqual([]);
    expect(status(answers, 'get_system_shared_memory_status_region')).toBe('404');
    expect(status(answers, 'register_system_shared_memory')).toBe('501');
    expect(value(answers, 'unregister_system_shared_memory')).toBeNull();
    expect(value(answers, 'unregister_system_shared_memory_region')).toBeNull();
    expect(value(answers, 'get_cuda_shared_memory_status')).toEqual([]);
    expect(status(answers, 'register_cuda_shared_memory')).toBe('501');
    expect(value(answers, 'unregister_cuda_shared_memory')).toBeNull();
  }

  it("open mode: every call works or gets Triton's status, JSON and binary, compressed, async", { timeout: 180_000 }, async () => {
    await expectAdminAnswers(await runClient(open, 'open'), open);
  });

  it('with tenants: an admin key gets the same answers', { timeout: 180_000 }, async () => {
    await expectAdminAnswers(await runClient(tenants, 'admin', ADMIN_KEY), tenants);
  });

  it('with tenants: a tenant key calls its model and is refused the rest with 403', { timeout: 180_000 }, async () => {
    const answers = await runClient(tenants, 'user', USER_KEY);
    expect(value(answers, 'is_model_ready')).toBe(true);
    expect(value(answers, 'get_model_metadata')).toMatchObject({ name: 'mlp-classifier' });
    for (const call of ['infer_json', 'infer_binary', 'infer_gzip', 'infer_deflate', 'async_infer'])
      await expectReferenceOutputs(answers, call);
    // Unknown and forbidden models look the same to a tenant.
    expect(status(answers, 'infer_unknown_model')).toBe('403');
    expect(status(answers, 'infer_bytes_json')).toBe('403');
    expect(status(answers, 'infer_datatypes_binary')).toBe('403');
    expect(status(answers, 'get_model_metadata_unknown')).toBe('403');
    const adminCalls = [
      'get_inference_statistics',
      'get_model_repository_index',
      'load_model_config_override',
      'unload_model',
      'load_model',
      'load_model_unknown',
      'get_trace_settings',
      'update_trace_settings',
      'get_log_settings',
      'update_log_settings',
      'update_log_settings_file',
    ];
    for (const call of adminCalls) {
      expect(status(answers, call), call).toBe('403');
    }
    expect(value(answers, 'is_model_ready_after_unload')).toBe(true);
    expect(value(answers, 'get_inference_statistics_model')).toMatchObject({ model_stats: [{ name: 'mlp-classifier' }] });
    expect(value(answers, 'get_trace_settings_model')).toMatchObject({ trace_level: ['OFF'] });
    expectSharedMemoryAnswers(answers);

    // GET /v2/models, which tritonclient has no call for: the index, cut to what this key may call.
    const listed = (await (await fetch(`${tenants.url}/v2/models`, { headers: { authorization: `Bearer ${USER_KEY}` } })).json()) as {
      name: string;
    }[];
    expect(new Set(listed.map((entry) => entry.name))).toEqual(new Set(['mlp-classifier']));
  });

  it('distributed mode: the same calls through Redis and a worker process', { timeout: 180_000 }, async () => {
    const prefix = testPrefix();
    const env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      MODEL_REPOSITORY: repository.dir,
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
      LOG_LEVEL: 'warn',
    };
    const processes: Spawned[] = [];
    try {
      const gateway = await spawnGateway(env);
      processes.push(gateway);
      processes.push(await spawnWorker({ ...env, WORKER_ID: 'interop', LOG_LEVEL: 'info' }));
      await waitFor(async () => (await fetch(`${gateway.url}/v2/models/typed/ready`)).status === 200, 30_000, 'models ready');
      await expectAdminAnswers(await runClient(gateway, 'open'), gateway, 'distributed');
    } finally {
      for (const child of processes) child.kill('SIGKILL');
      await cleanRedis(prefix);
    }
  });

  it('with tenants: no key or a wrong key is 401 on everything but health', { timeout: 180_000 }, async () => {
    for (const [role, key] of [
      ['nokey', undefined],
      ['badkey', 'not-a-key'],
    ] as const) {
      const answers = await runClient(tenants, role, key);
      expect(value(answers, 'is_server_live')).toBe(true);
      expect(value(answers, 'is_server_ready')).toBe(true);
      expect(value(answers, 'is_model_ready')).toBe(false);
      const calls = [
        'get_server_metadata',
        'get_model_metadata',
        'infer_json',
        'infer_binary',
        'async_infer',
        'get_inference_statistics',
        'get_model_repository_index',
        'load_model',
        'register_system_shared_memory',
        'get_log_settings',
      ];
      for (const call of calls) {
        expect(status(answers, call), `${role} ${call}`).toBe('401');
      }
    }
    expect(tenants.process.exitCode).toBeNull();
  });
});
