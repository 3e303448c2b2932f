import { Agent, request as httpRequest } from 'node:http';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abandonable, cancelledCount, pending, postLine, rowsRun, textLine, waitForPending } from '../helpers/abandon.js';
import { InferenceClient, rawFloats } from '../helpers/grpc-client.js';
import { spawnGateway, waitFor, type Spawned } from '../helpers/processes.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * Embedded mode, the gateway as a process: a caller that leaves (closed connection, gRPC
 * cancel or deadline) gets nothing computed for it once its request still waits in the
 * batcher's queue; one already in a running batch is dropped from it.
 */
const repository = new TestRepository().copy('text-recognizer', { dynamic_batching: { max_queue_delay_ms: 1, max_queue_size: 64 } });
/** Runs for seconds on one CPU thread even on an idle machine, and no narrower line joins its batch. */
const WIDE = 9600;
let gateway: Spawned & { url: string };
let client: InferenceClient;
const infer = (): string => `${gateway.url}/v2/models/text-recognizer/infer`;
const metrics = (): string => `${gateway.url}/metrics`;

beforeAll(async () => {
  const grpcPort = await freePort();
  gateway = await spawnGateway({
    MODEL_REPOSITORY: repository.dir,
    LOAD_MODELS: 'text-recognizer',
    CPU_COUNT: '1',
    GRPC_PORT: String(grpcPort),
    LOG_LEVEL: 'warn',
  });
  await waitFor(async () => (await fetch(`${gateway.url}/v2/models/text-recognizer/ready`)).ok, 60_000, 'recognizer ready');
  client = new InferenceClient(`127.0.0.1:${grpcPort}`);
}, 120_000);
afterAll(() => {
  client?.close();
  gateway?.kill();
  repository.remove();
});

/** Keeps the one instance busy: lines of different widths never share a batch, so they run one after another. */
function busyLines(count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => postLine(infer(), WIDE + 16 * index)));
}

/** Rows run settle once the busy batch is over. */
async function rowsAfter(busy: Promise<unknown>): Promise<number> {
  await busy;
  await new Promise((resolve) => setTimeout(resolve, 200));
  return rowsRun(gateway.url, 'text-recognizer');
}

describe('abandoned requests, embedded', { timeout: 120_000 }, () => {
  it('a queued request whose connection closed leaves the queue and is never run; the others are', async () => {
    const before = await rowsRun(gateway.url, 'text-recognizer');
    const queuedBefore = await cancelledCount(metrics(), 'queued');
    const busy = busyLines(2);
    await waitForPending(metrics(), 'text-recognizer', 1);
    // Lines of another width never join the busy batch: they wait for the instance.
    const leaving = Array.from({ length: 6 }, () => abandonable(infer(), 96));
    const staying = Array.from({ length: 2 }, () => postLine(infer(), 128));
    await waitForPending(metrics(), 'text-recognizer', 8);
    for (const call of leaving) call.abort();
    for (const call of leaving) expect(await call.settled).toBe('aborted');
    await waitFor(async () => (await cancelledCount(metrics(), 'queued')) - queuedBefore === 6, 5_000, 'six cancelled from the queue');
    expect(await busy).toEqual([200, 200]);
    expect(await Promise.all(staying)).toEqual([200, 200]);
    // The wide lines and the two staying lines ran; none of the six that left.
    expect((await rowsAfter(busy)) - before).toBe(4);
  });

  it('a request in a running batch is dropped from it: its rows ran, it is counted as running, the gateway goes on', async () => {
    const runningBefore = await cancelledCount(metrics(), 'running');
    const before = await rowsRun(gateway.url, 'text-recognizer');
    // The leaving line queues behind a busy one; once the queue is empty again, it runs.
    const busy = postLine(infer(), WIDE);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const call = abandonable(infer(), WIDE + 16);
    await waitForPending(metrics(), 'text-recognizer', 1);
    await waitFor(async () => (await pending(metrics(), 'text-recognizer')) === 0, 20_000, 'the leaving line running');
    call.abort();
    expect(await call.settled).toBe('aborted');
    await waitFor(async () => (await cancelledCount(metrics(), 'running')) - runningBefore === 1, 5_000, 'counted as running');
    expect(await busy).toBe(200);
    await waitFor(async () => (await rowsRun(gateway.url, 'text-recognizer')) - before === 2, 20_000, 'its batch finished');
    expect(await postLine(infer(), 64)).toBe(200);
  });

  it('on a keep-alive connection, only the request unanswered when it closes is cancelled', async () => {
    // Requests of one HTTP/1.1 connection share its cancel signal (gateway/http/close-signal.ts).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (width: number): { reused: Promise<boolean>; settled: Promise<number | 'aborted'>; abort(): void } => {
      const { headers, body } = textLine(width);
      const req = httpRequest(infer(), { method: 'POST', agent, headers });
      const reused = new Promise<boolean>((resolve) => req.once('socket', () => resolve(req.reusedSocket)));
      const settled = new Promise<number | 'aborted'>((resolve) => {
        req.once('response', (response) => {
          response.resume();
          response.once('end', () => resolve(response.statusCode ?? 0));
        });
        req.once('error', () => resolve('aborted'));
      });
      req.end(body);
      return { reused, settled, abort: () => req.destroy() };
    };
    const before = await rowsRun(gateway.url, 'text-recognizer');
    const queuedBefore = await cancelledCount(metrics(), 'queued');
    for (let index = 0; index < 3; index += 1) expect(await send(64).settled).toBe(200);
    const busy = busyLines(2);
    await waitForPending(metrics(), 'text-recognizer', 1);
    const leaving = send(96);
    expect(await leaving.reused).toBe(true);
    await waitForPending(metrics(), 'text-recognizer', 2);
    leaving.abort();
    expect(await leaving.settled).toBe('aborted');
    await waitFor(async () => (await cancelledCount(metrics(), 'queued')) - queuedBefore === 1, 5_000, 'one cancelled from the queue');
    expect(await busy).toEqual([200, 200]);
    // The three answered lines and the busy ones ran; the one that left did not.
    expect((await rowsAfter(busy)) - before).toBe(5);
    agent.destroy();
  });

  it('a gRPC cancel and a passed gRPC deadline take the same path: out of the queue, never run', async () => {
    const before = await rowsRun(gateway.url, 'text-recognizer');
    const queuedBefore = await cancelledCount(metrics(), 'queued');
    const busy = busyLines(3);
    await waitForPending(metrics(), 'text-recognizer', 1);
    const small = (width: number) => ({
      model_name: 'text-recognizer',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width] }],
      raw_input_contents: [rawFloats(new Array(3 * 48 * width).fill(0.5))],
    });
    const cancelled = Array.from({ length: 3 }, () => client.call('ModelInfer', small(96), {}, { cancelAfterMs: 1_500 }));
    const expired = Array.from({ length: 3 }, () => client.call('ModelInfer', small(160), {}, { deadline: new Date(Date.now() + 1_500) }));
    for (const reply of await Promise.all(cancelled)) expect(reply.error?.code).toBe(status.CANCELLED);
    for (const reply of await Promise.all(expired)) expect(reply.error?.code).toBe(status.DEADLINE_EXCEEDED);
    await waitFor(
      async () => (await cancelledCount(metrics(), 'queued')) - queuedBefore === 6,
      5_000,
      'six gRPC calls cancelled from the queue',
    );
    expect(await busy).toEqual([200, 200, 200]);
    expect((await rowsAfter(busy)) - before).toBe(3);
  });
});
