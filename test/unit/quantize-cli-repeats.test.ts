import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMlp } from '../../models/build/mlp.js';
import { DuplicateVersionError, parseQuantizeArgs, runQuantize } from '../../models/quantize/quantize-cli.js';
import { TestRepository } from '../helpers/repository.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SMALL_MLP = { layers: [16, 32, 32, 4], seed: 7, inputName: 'input', outputName: 'probabilities' };
const config = (versions: Record<string, unknown>): Record<string, unknown> => ({
  platform: 'onnx',
  versions,
  max_batch_size: 8,
  inputs: [{ name: 'input', datatype: 'FP32', shape: [16] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [4] }],
  price: { usd_per_compute_second: 0.001 },
  warmup: { enabled: false },
});
const FP32 = { weights: { source: 'file', path: 'model.onnx' } };
const INT8 = { weights: { source: 'quantized', from_version: '1', mode: 'dynamic', calibration: 'random', path: 'model.onnx' } };

const repositories: TestRepository[] = [];
afterEach(() => {
  for (const repository of repositories.splice(0)) repository.remove();
});
/** `small` v1 (fp32) and v2, its dynamic int8 version with random calibration, as `npm run quantize -- small` writes it. */
const withInt8 = (): TestRepository => {
  const repository = new TestRepository().add('small', config({ '1': FP32, '2': INT8 }), {
    '1/model.onnx': buildMlp(SMALL_MLP),
    '2/model.onnx': 'int8',
  });
  repositories.push(repository);
  return repository;
};
const command = (repository: TestRepository, extra: Record<string, unknown> = {}) => ({
  repository: repository.dir,
  model: 'small',
  mode: 'dynamic' as const,
  calibration: 'random',
  quantizeOutputLayer: false,
  ...extra,
});

describe('npm run quantize and versions it already has', () => {
  it('refuses a version that repeats an existing one (same source and settings), writing nothing', async () => {
    const repository = withInt8();
    const before = readFileSync(join(repository.dir, 'small', 'config.json'), 'utf8');
    const refusal = runQuantize(command(repository), () => undefined);
    await expect(refusal).rejects.toThrow(DuplicateVersionError);
    await expect(refusal).rejects.toThrow(
      'version 2 of small is already quantized from v1 with these settings (dynamic, calibration random): rebuild it with --as 2',
    );
    expect(readFileSync(join(repository.dir, 'small', 'config.json'), 'utf8')).toBe(before);
    expect(existsSync(join(repository.dir, 'small', '3'))).toBe(false);
  });

  it('exits with status 2 and says why (the command as npm run quantize runs it)', () => {
    const repository = withInt8();
    const run = spawnSync(process.execPath, [join(ROOT, 'dist/models/quantize/quantize-cli.js'), 'small', '--repository', repository.dir], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('quantize: version 2 of small is already quantized from v1');
    expect(run.stderr).toContain('--force');
  });

  it('writes another copy with --force, or with other settings, and says how the gateway comes to serve it in each mode', async () => {
    expect(parseQuantizeArgs(['small', '--force'])).toMatchObject({ force: true });
    expect(parseQuantizeArgs(['small'])).toMatchObject({ force: false });
    const repository = withInt8();
    const lines: string[] = [];
    await runQuantize(command(repository, { force: true }), (line) => lines.push(line));
    expect(existsSync(join(repository.dir, 'small', '3', 'model.onnx'))).toBe(true);
    const said = lines.join('\n');
    expect(said).toContain('a running gateway serves v3 once it loads small again');
    expect(said).toContain('curl -X POST -H "Authorization: Bearer <admin key>" http://localhost:8080/v2/repository/models/small/load');

    const polled: string[] = [];
    await runQuantize(command(repository, { quantizeOutputLayer: true, as: '4' }), (line) => polled.push(line), {
      MODEL_CONTROL: 'poll',
      MODEL_CONTROL_POLL_MS: 3000,
    });
    expect(polled.join('\n')).toContain('MODEL_CONTROL=poll: gateways and workers on this repository load v4 within about 6 s');
    expect(polled.join('\n')).not.toContain('curl');
  }, 120_000);
});
