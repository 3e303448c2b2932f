import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TensorDataType, encodeModel, floatInitializer, valueInfo } from '../../models/onnx/onnx-model.js';
import type { RunningServer } from '../../gateway/server.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';

/** A lookup table: row `id` of a 10 x 2 table. An id past the table fails the whole run in onnxruntime. */
function buildLookupModel(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'switchyard-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'lookup',
      node: [{ opType: 'Gather', name: 'gather', input: ['table', 'id'], output: ['row'], attribute: [{ name: 'axis', type: 2, i: 0n }] }],
      initializer: [
        floatInitializer(
          'table',
          [10, 2],
          Float32Array.from({ length: 20 }, (_, i) => i),
        ),
      ],
      input: [valueInfo('id', TensorDataType.INT64, ['batch'])],
      output: [valueInfo('row', TensorDataType.FLOAT, ['batch', 2])],
    },
  });
}

const repository = new TestRepository().add(
  'lookup',
  {
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 16,
    inputs: [{ name: 'id', datatype: 'INT64', shape: [] }],
    outputs: [{ name: 'row', datatype: 'FP32', shape: [2] }],
    // A long window, so the requests below meet in one batch.
    dynamic_batching: { max_queue_delay_ms: 200, preferred_batch_sizes: [7] },
    warmup: { enabled: false },
    price: { usd_per_compute_second: 0 },
  },
  { '1/model.onnx': buildLookupModel() },
);
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(repository.dir);
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

const lookup = (id: number) =>
  post(`${server.url}/v2/models/lookup/infer`, { inputs: [{ name: 'id', datatype: 'INT64', shape: [1], data: [id] }] });

describe("a request the runtime refuses does not take its batchmates' answers with it", () => {
  it('the others in its batch are run again alone and answered; only it fails', async () => {
    const ids = [1, 2, 99, 3, 4, 5, 6];
    const replies = await Promise.all(ids.map(lookup));
    ids.forEach((id, index) => {
      const reply = replies[index]!;
      if (id === 99) {
        expect(reply).toMatchObject({ status: 500, json: { code: 'inference_failed' } });
      } else {
        expect(reply.status).toBe(200);
        expect((reply.json.outputs as { data: number[] }[])[0]!.data).toEqual([2 * id, 2 * id + 1]);
      }
    });
    // They met in one batch first: the run that failed held more than the one bad request.
    expect(String(replies[2]!.json.error)).toMatch(/failed on a batch of 1:/);
  });
});
