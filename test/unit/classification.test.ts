import { afterEach, describe, expect, it } from 'vitest';
import { classifyOutputs, MAX_CLASSIFICATION } from '../../gateway/protocol/classification.js';
import { parseRequestOptions } from '../../gateway/protocol/parse-infer-request.js';
import { validateRequest } from '../../gateway/routing/validate-request.js';
import type { Datatype, TensorArray } from '../../workers/protocol/datatypes.js';
import type { InferResult } from '../../workers/protocol/inference.js';
import { decodeBytesElements } from '../../workers/protocol/tensor.js';
import { loadRepository, type ModelDefinition } from '../../workers/repository/load-repository.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';
import { TestRepository } from '../helpers/repository.js';

const config = (maxBatch: number, datatype: Datatype = 'FP32') =>
  modelConfigSchema.parse({
    name: 'c',
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: maxBatch,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
    outputs: [{ name: 'y', datatype, shape: [5] }],
    price: { usd_per_compute_second: 0 },
  });

function definition(maxBatch: number, labels?: string[], datatype: Datatype = 'FP32'): ModelDefinition {
  return { name: 'c', dir: '/nowhere', config: config(maxBatch, datatype), ...(labels ? { labels: { y: labels } } : {}) };
}

function result(datatype: Datatype, shape: number[], data: TensorArray): InferResult {
  return {
    model: 'c',
    version: '1',
    outputs: [{ name: 'y', datatype, shape, data }],
    timings: { queueMs: 0, computeMs: 0, batchSize: 1, batchRows: 1 },
  };
}

/** The answer's BYTES elements as text, and its shape. */
function strings(answer: InferResult): { shape: readonly number[]; datatype: string; rows: string[] } {
  const tensor = answer.outputs[0]!;
  const elements = decodeBytesElements(tensor.data as Uint8Array) ?? [];
  return { shape: tensor.shape, datatype: tensor.datatype, rows: elements.map((element) => Buffer.from(element).toString('utf8')) };
}

describe('classification extension', () => {
  it('per batch row, the N highest as "<value>:<index>:<label>", highest first, C %f values, equal values by index', () => {
    const data = Float32Array.from([0.1, 0.5, 0.25, 0.5, 0, /* row 2 */ -1, -3, 7.5, 2 ** 100, Number.NaN]);
    const answer = classifyOutputs(result('FP32', [2, 5], data), [{ name: 'y', classification: 3 }], definition(4, ['a', 'b', 'c']));
    expect(strings(answer)).toEqual({
      shape: [2, 3],
      datatype: 'BYTES',
      // Index 3 and 4 have no label (the file has three lines): no third part, as Triton.
      rows: ['0.500000:1:b', '0.500000:3', '0.250000:2:c', '1267650600228229401496703205376.000000:3', '7.500000:2:c', '-1.000000:0:a'],
    });
  });

  it('N above the row gives every element; a model without a batch dimension answers [N]; NaN ranks last', () => {
    const data = Float32Array.from([Number.NaN, -0, Number.NEGATIVE_INFINITY, 1e-7, Number.POSITIVE_INFINITY]);
    expect(strings(classifyOutputs(result('FP32', [5], data), [{ name: 'y', classification: 99 }], definition(0)))).toEqual({
      shape: [5],
      datatype: 'BYTES',
      rows: ['inf:4', '0.000000:3', '-0.000000:1', '-inf:2', 'nan:0'],
    });
  });

  it('integer outputs are written whole, 64-bit ones exactly', () => {
    const data = BigInt64Array.from([3n, -(2n ** 63n), 2n ** 63n - 1n, 3n, 0n]);
    const answer = classifyOutputs(result('INT64', [1, 5], data), [{ name: 'y', classification: 3 }], definition(4, undefined, 'INT64'));
    expect(strings(answer).rows).toEqual(['9223372036854775807:2', '3:0', '3:3']);
    const bytes = classifyOutputs(
      result('UINT8', [1, 5], Uint8Array.from([9, 200, 7, 255, 0])),
      [{ name: 'y', classification: 2 }],
      definition(4),
    );
    expect(strings(bytes).rows).toEqual(['255:3', '200:1']);
  });

  it('outputs not asked for as classifications, and calls that ask for none, are left as they are', () => {
    const plain = result('FP32', [1, 5], Float32Array.from([1, 2, 3, 4, 5]));
    expect(classifyOutputs(plain, [], definition(4))).toBe(plain);
    expect(classifyOutputs(plain, [{ name: 'y' }], definition(4))).toBe(plain);
  });

  it('runs of equal values are taken in index order, -Infinity before NaN, at any N', () => {
    const data = Float32Array.from([0, 0, 5, 0, Number.NaN, 5, 0, Number.NEGATIVE_INFINITY, Number.NaN, 0]);
    const top = (n: number) =>
      strings(classifyOutputs(result('FP32', [1, 10], data), [{ name: 'y', classification: n }], definition(4))).rows;
    expect(top(4)).toEqual(['5.000000:2', '5.000000:5', '0.000000:0', '0.000000:1']);
    expect(top(10)).toEqual([
      '5.000000:2',
      '5.000000:5',
      '0.000000:0',
      '0.000000:1',
      '0.000000:3',
      '0.000000:6',
      '0.000000:9',
      '-inf:7',
      'nan:4',
      'nan:8',
    ]);
    expect(top(8).at(-1)).toBe('-inf:7');
  });

  it('an ascending row (the worst order for a heap) gives its last N, highest first', () => {
    const data = Float32Array.from({ length: 100_000 }, (_, i) => i);
    const answer = classifyOutputs(result('FP32', [1, 100_000], data), [{ name: 'y', classification: 3 }], definition(4));
    expect(strings(answer).rows).toEqual(['99999.000000:99999', '99998.000000:99998', '99997.000000:99997']);
  });

  it('the top N of a large row matches a full sort', () => {
    const data = Float32Array.from(
      { length: 6625 },
      (_, i) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453),
    );
    const answer = classifyOutputs(result('FP32', [1, 6625], data), [{ name: 'y', classification: 50 }], definition(4));
    const sorted = [...data.keys()].sort((a, b) => data[b]! - data[a]! || a - b).slice(0, 50);
    expect(strings(answer).rows.map((row) => Number(row.split(':')[1]))).toEqual(sorted);
  });
});

describe('asking for it', () => {
  it('parameters.classification: an integer from 0 (none) to the maximum; anything else is invalid_parameter', () => {
    const asked = (classification: unknown) => parseRequestOptions({ outputs: [{ name: 'y', parameters: { classification } }] }).outputs[0];
    expect(asked(3)).toEqual({ name: 'y', binary: false, classification: 3 });
    expect(asked(0)).toEqual({ name: 'y', binary: false });
    for (const bad of [-1, 1.5, '3', true, MAX_CLASSIFICATION + 1]) {
      expect(() => asked(bad), String(bad)).toThrow(expect.objectContaining({ code: 'invalid_parameter' }));
    }
  });

  it('an output of a type Triton does not rank (FP16, BF16, BOOL, BYTES) is refused before the model runs', () => {
    const parsed = parseRequestOptions({ outputs: [{ name: 'y', parameters: { classification: 2 } }] });
    const input = { name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) };
    const model = (datatype: Datatype) =>
      ({ definition: definition(4, undefined, datatype), version: '1' }) as Parameters<typeof validateRequest>[1];
    const context = { requestId: 'r', now: 0 } as Parameters<typeof validateRequest>[2];
    for (const datatype of ['FP16', 'BOOL', 'BYTES'] as const) {
      expect(() => validateRequest({ ...parsed, inputs: [input] }, model(datatype), context), datatype).toThrow(
        expect.objectContaining({ code: 'invalid_parameter' }),
      );
    }
    expect(validateRequest({ ...parsed, inputs: [input] }, model('FP64'), context).outputs).toEqual(['y']);
  });
});

describe('label_filename in a model config', () => {
  let repository: TestRepository | undefined;
  afterEach(() => repository?.remove());
  const base = {
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 8,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
    price: { usd_per_compute_second: 0 },
  };
  async function load(outputs: object[], files: Record<string, string> = {}, inputs?: object[]) {
    repository = new TestRepository().add('m', { ...base, ...(inputs ? { inputs } : {}), outputs }, files);
    return loadRepository(repository.dir).then(
      ([model]) => model!,
      (error: Error) => error.message,
    );
  }

  it('reads one label per line (CRLF too), by output', async () => {
    const model = await load([{ name: 'y', datatype: 'FP32', shape: [3], label_filename: 'labels.txt' }], {
      'labels.txt': 'cat\r\ndog\nemu\n',
    });
    expect(typeof model === 'string' ? model : model.labels).toEqual({ y: ['cat', 'dog', 'emu'] });
  });

  it('refuses a path outside the model folder, a missing file, and labels on an input', async () => {
    const output = (label_filename: string) => [{ name: 'y', datatype: 'FP32', shape: [3], label_filename }];
    expect(await load(output('../secrets.txt'))).toMatch(/outputs\.\[0\]\.label_filename|outputs\[0\]\.label_filename/);
    expect(await load(output('/etc/passwd'))).toMatch(/label_filename: must be a file name in the model folder/);
    expect(await load(output('labels.txt'))).toMatch(/labels\.txt is not a file in the model folder/);
    expect(await load(output('1'))).toMatch(/is not a file in the model folder/);
    const onInput = [{ name: 'x', datatype: 'FP32', shape: [4], label_filename: 'labels.txt' }];
    expect(await load([{ name: 'y', datatype: 'FP32', shape: [3] }], { 'labels.txt': 'a\n' }, onInput)).toMatch(/labels belong to outputs/);
  });
});
