import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';

// The shipped int8 version as `npm run models:build` makes it from its config.
const repository = new TestRepository().copy('mlp-classifier', {}, true);
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(repository.dir);
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

async function probabilities(rows: number[][]): Promise<number[][]> {
  const reply = await post(`${server.url}/v2/models/mlp-classifier/versions/2/infer`, {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 512], data: rows.flat() }],
  });
  expect(reply.status).toBe(200);
  const data = (reply.json.outputs as { data: number[] }[])[0]!.data;
  return rows.map((_, row) => data.slice(row * 10, row * 10 + 10));
}

describe('the shipped int8 version (the cheap tier of classify)', () => {
  it("answers a row the same whatever shares its batch: another caller's input moves nothing", async () => {
    const row = Array.from({ length: 512 }, (_, i) => Math.sin(5 * 31.7 + i * 0.37));
    const [alone] = await probabilities([row]);
    // Dynamic quantization scales activations by the whole batch's range: an outlier row moved
    // this row's probabilities by up to 0.1. Static scales are fixed at calibration.
    const [besideOutlier] = await probabilities([row, new Array<number>(512).fill(50)]);
    const crowd = Array.from({ length: 31 }, () => probabilities([new Array<number>(512).fill(-40)]));
    const [inCrowd] = await probabilities([row]);
    await Promise.all(crowd);
    for (const other of [besideOutlier!, inCrowd!]) alone!.forEach((value, i) => expect(other[i]).toBeCloseTo(value, 6));
  });
});
