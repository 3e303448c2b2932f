import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { everyTypeRepository } from '../helpers/every-type-fixture.js';
import { startTestGateway } from '../helpers/gateway.js';
import { MlpReference } from '../helpers/mlp-reference.js';
import { freePort } from '../helpers/redis.js';

/**
 * NVIDIA's tritonclient.grpc, run as an outside process (test/interop/tritonclient_grpc.py)
 * against live gateways, open and with tenants. TRITONCLIENT_PY names the folder holding
 * the `tritonclient` package (CI: ../shared/tools/tritonclient-py); without it, skipped.
 */
const TRITONCLIENT = process.env.TRITONCLIENT_PY;
const PYTHON = process.env.TRITONCLIENT_PYTHON ?? '/usr/bin/python3';
const SCRIPT = resolve(import.meta.dirname, '../interop/tritonclient_grpc.py');
const available = TRITONCLIENT !== undefined && existsSync(join(TRITONCLIENT, 'tritonclient', 'grpc'));
if (!available)
  console.warn(`grpc-tritonclient: SKIPPED, set TRITONCLIENT_PY to the folder holding tritonclient (got ${TRITONCLIENT ?? 'nothing'})`);

type Outcome = { call: string; ok: true; value: never } | { call: string; ok: false; status: string; message: string };

async function runClient(address: string, key?: string): Promise<Map<string, Outcome>> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, address, ...(key ? [key] : [])], {
    env: { PATH: process.env.PATH ?? '', PYTHONPATH: TRITONCLIENT! },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const outcomes = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Outcome);
  return new Map(outcomes.map((outcome) => [outcome.call, outcome]));
}

const value = <T>(outcomes: Map<string, Outcome>, call: string): T => {
  const outcome = outcomes.get(call);
  expect(outcome, call).toMatchObject({ ok: true });
  return (outcome as { value: T }).value;
};
const failure = (outcomes: Map<string, Outcome>, call: string) => {
  const outcome = outcomes.get(call);
  expect(outcome?.ok, `${call} should fail`).toBe(false);
  return outcome as { status: string; message: string };
};

type MlpAnswer = { probabilities: number[][]; parameters: Record<string, Record<string, string>>; id: string };

describe.skipIf(!available)('tritonclient.grpc against Switchyard', () => {
  let reference: MlpReference;
  beforeAll(async () => {
    reference = await MlpReference.load();
  });

  describe('open gateway (no tenants)', () => {
    const repository = everyTypeRepository();
    let server: RunningServer;
    let outcomes: Map<string, Outcome>;
    beforeAll(async () => {
      server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()) });
      outcomes = await runClient(server.grpcAddress!);
    }, 180_000);
    afterAll(async () => {
      await server.close();
      repository.remove();
    });

    it('health, metadata and configuration calls answer as Triton would', () => {
      expect(value(outcomes, 'is_server_live')).toBe(true);
      expect(value(outcomes, 'is_server_ready')).toBe(true);
      expect(value(outcomes, 'is_model_ready')).toBe(true);
      expect(value(outcomes, 'get_server_metadata')).toMatchObject({
        name: 'switchyard',
        extensions: expect.arrayContaining(['model_repository', 'classification']),
      });
      expect(value(outcomes, 'get_model_metadata')).toMatchObject({
        name: 'mlp-classifier',
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '512'] }],
      });
      expect(value(outcomes, 'get_model_config')).toMatchObject({
        config: { name: 'mlp-classifier', max_batch_size: 64, input: [{ name: 'input', data_type: 'TYPE_FP32', dims: ['512'] }] },
      });
    });

    it('infer, batched, gzip-compressed and async answers are what onnxruntime computes', async () => {
      const sync = value<MlpAnswer>(outcomes, 'infer');
      expect(await reference.matches(1, sync.probabilities[0]!)).toBe(true);
      expect(sync.id).toBe('sync-1');
      expect(sync.parameters.route).toEqual({ string_param: 'mlp-classifier' });
      expect(sync.parameters.request_id?.string_param).toBeTruthy();
      const batch = value<MlpAnswer>(outcomes, 'infer_batch');
      expect(await reference.matches(1, batch.probabilities[0]!)).toBe(true);
      expect(await reference.matches(2, batch.probabilities[1]!)).toBe(true);
      expect(await reference.matches(1, value<MlpAnswer>(outcomes, 'infer_gzip').probabilities[0]!)).toBe(true);
      const asyncAnswer = value<MlpAnswer>(outcomes, 'async_infer');
      expect(asyncAnswer.id).toBe('async-3');
      expect(await reference.matches(3, asyncAnswer.probabilities[0]!)).toBe(true);
    });

    it('classification extension (class_count): BYTES [rows, N] of "<value>:<index>", as Triton writes them', () => {
      type Classified = { shape: number[]; datatype: string; rows: string[][]; expected: string[][] };
      const floats = value<Classified>(outcomes, 'infer_classification');
      expect(floats).toMatchObject({ shape: [2, 3], datatype: 'BYTES' });
      expect(floats.rows).toEqual(floats.expected);
      const integers = value<Classified>(outcomes, 'infer_classification_int64');
      expect(integers.rows).toEqual([['9223372036854775807:1', '3:2']]);
      expect(integers.rows).toEqual(integers.expected);
      // Triton ranks numbers only: a BYTES output is refused, before the model runs.
      expect(failure(outcomes, 'infer_classification_bytes')).toMatchObject({ status: 'StatusCode.INVALID_ARGUMENT' });
    });

    it('round-trips every datatype through numpy, BYTES included', () => {
      expect(value(outcomes, 'infer_every_type')).toEqual({
        FP32: true,
        FP64: true,
        UINT8: true,
        UINT16: true,
        UINT32: true,
        UINT64: true,
        INT8: true,
        INT16: true,
        INT32: true,
        INT64: true,
        BOOL: true,
        BYTES: true,
      });
    });

    it('streams: each request answered, a failure as an error in the callback, the stream kept open', async () => {
      const answers = value<({ error: string } | MlpAnswer)[]>(outcomes, 'stream_infer');
      expect(answers).toHaveLength(3);
      expect(answers.filter((answer) => 'error' in answer)).toEqual([{ error: 'unknown model "no-such-model"' }]);
      const served = answers.filter((answer): answer is MlpAnswer => !('error' in answer));
      const byId = new Map(served.map((answer) => [answer.id, answer]));
      expect(await reference.matches(4, byId.get('s-4')!.probabilities[0]!)).toBe(true);
      expect(await reference.matches(6, byId.get('s-6')!.probabilities[0]!)).toBe(true);
      // Each answer is its request's last, as Triton marks them (with or without enable_empty_final_response).
      for (const answer of served) expect(answer.parameters.triton_final_response, answer.id).toEqual({ bool_param: true });
    });

    it("errors come back with Triton's status codes and Switchyard's messages", () => {
      expect(failure(outcomes, 'infer_unknown_model')).toMatchObject({
        status: 'StatusCode.NOT_FOUND',
        message: 'unknown model "no-such-model"',
      });
      expect(failure(outcomes, 'infer_wrong_shape').status).toBe('StatusCode.INVALID_ARGUMENT');
      expect(failure(outcomes, 'infer_client_timeout').status).toBe('StatusCode.DEADLINE_EXCEEDED');
      for (const call of ['infer_sequence', 'infer_sequence_string']) {
        expect(failure(outcomes, call), call).toMatchObject({
          status: 'StatusCode.INVALID_ARGUMENT',
          message: expect.stringContaining('must not specify a non-zero or non-empty correlation ID'),
        });
      }
      expect(value(outcomes, 'infer_sequence_none')).toBeTruthy();
      expect(failure(outcomes, 'register_system_shared_memory').status).toBe('StatusCode.UNIMPLEMENTED');
      expect(value(outcomes, 'infer_without_key')).toBeTruthy();
    });

    it('statistics, the repository index, unload and load work; config overrides are refused', () => {
      const stats = value<{ names: string[]; inference_count: number }>(outcomes, 'get_inference_statistics');
      expect(stats.names).toContain('mlp-classifier');
      expect(stats.inference_count).toBeGreaterThan(0);
      expect(value<{ models: { name: string }[] }>(outcomes, 'get_model_repository_index').models.map((model) => model.name)).toEqual(
        expect.arrayContaining(['mlp-classifier', 'every-type', 'half']),
      );
      expect(outcomes.get('unload_model')).toMatchObject({ ok: true });
      expect(value(outcomes, 'is_model_ready_unloaded')).toBe(false);
      expect(failure(outcomes, 'load_model_with_config').status).toBe('StatusCode.UNIMPLEMENTED');
      expect(outcomes.get('load_model')).toMatchObject({ ok: true });
      expect(value(outcomes, 'is_model_ready_loaded')).toBe(true);
    });
  });

  describe('gateway with tenants', () => {
    const repository = everyTypeRepository();
    let server: RunningServer;
    let outcomes: Map<string, Outcome>;
    beforeAll(async () => {
      const policy = { tenants: [{ name: 'app', keys: [{ sha256: hashKey('app-key') }], models: ['mlp-classifier'] }] };
      const file = join(repository.dir, 'policy.yaml');
      writeFileSync(file, stringify(policy));
      server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()), SWITCHYARD_CONFIG: file });
      outcomes = await runClient(server.grpcAddress!, 'app-key');
    }, 180_000);
    afterAll(async () => {
      await server.close();
      repository.remove();
    });

    it('a tenant key in authorization metadata serves its models; none is UNAUTHENTICATED', async () => {
      expect(await reference.matches(1, value<MlpAnswer>(outcomes, 'infer').probabilities[0]!)).toBe(true);
      expect(failure(outcomes, 'infer_without_key')).toMatchObject({
        status: 'StatusCode.UNAUTHENTICATED',
        message: 'send Authorization: Bearer <key>',
      });
    });

    it('other models, the repository and admin calls are PERMISSION_DENIED', () => {
      expect(failure(outcomes, 'infer_every_type').status).toBe('StatusCode.PERMISSION_DENIED');
      expect(failure(outcomes, 'infer_unknown_model')).toMatchObject({
        status: 'StatusCode.PERMISSION_DENIED',
        message: 'this key may not call "no-such-model"',
      });
      expect(failure(outcomes, 'get_model_repository_index').status).toBe('StatusCode.PERMISSION_DENIED');
      expect(failure(outcomes, 'unload_model').status).toBe('StatusCode.PERMISSION_DENIED');
    });
  });
});
