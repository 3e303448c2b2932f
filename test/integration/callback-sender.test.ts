import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { PENDING_PER_CONNECTION } from '../../gateway/tasks/local-callback-sender.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/processes.js';
import { TestRepository } from '../helpers/repository.js';
import { vowelLikeSpeech, wavFile } from '../helpers/wav.js';

/**
 * Callbacks in embedded mode against a receiver that accepts connections and never answers
 * (any public host can do that): deliveries leave the task slots alone, and the gateway's
 * outbound connections and held deliveries stay within CALLBACK_CONCURRENCY.
 */
const CONCURRENCY = 2;
const SHORT = Buffer.from(wavFile([vowelLikeSpeech(16_000, 1)], 16_000));
/** 60 s of audio: several seconds of model calls, to hold the one task slot. */
const LONG = Buffer.from(wavFile([vowelLikeSpeech(16_000, 60)], 16_000));
const repository = new TestRepository().copy('silero-vad').copyPipeline('voice-activity');
let server: RunningServer;
let silent: Server;
let silentUrl = '';
const sockets = new Set<Socket>();
let mostOpen = 0;
let accepted = 0;

interface TaskJson {
  id: string;
  status: string;
  started_at?: string;
  error?: { code: string; message: string };
  callback?: { state: string; attempts: unknown[]; error?: string };
}

const task = async (id: string): Promise<TaskJson> => (await get(`${server.url}/v1/tasks/${id}`)).json as unknown as TaskJson;
const submit = (wav: Buffer, query = ''): Promise<{ status: number; json: Record<string, unknown> }> =>
  post(`${server.url}/v1/tasks/voice-activity${query}`, wav, { 'content-type': 'audio/wav', prefer: 'respond-async' });

beforeAll(async () => {
  silent = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    mostOpen = Math.max(mostOpen, sockets.size);
    socket.on('data', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}/hook`;
  const policy = join(repository.dir, 'switchyard.json');
  writeFileSync(policy, JSON.stringify({ callbacks: { allow: ['127.0.0.1'] } }));
  server = await startTestGateway(repository.dir, {
    SWITCHYARD_CONFIG: policy,
    CALLBACK_SECRET: 'sender-callback-secret-0123456789',
    TASK_CONCURRENCY: '1',
    CALLBACK_CONCURRENCY: String(CONCURRENCY),
    // Each delivery to the silent receiver is held 2 attempts x 5 s: far longer than the test's requests.
    CALLBACK_TIMEOUT_MS: '5000',
    CALLBACK_ATTEMPTS: '2',
    CALLBACK_BACKOFF_MS: '100',
  });
}, 60_000);
afterAll(async () => {
  // Attempts in flight (up to CALLBACK_TIMEOUT_MS) finish; none starts after.
  await server.close();
  for (const socket of sockets) socket.destroy();
  silent.close();
  repository.remove();
}, 30_000);

describe('callback sender (embedded mode)', () => {
  it("a task's slot is free once its pipeline has run: deliveries that hang do not hold it", async () => {
    // TASK_CONCURRENCY is 1.
    const first = await submit(SHORT, `?callback_url=${encodeURIComponent(silentUrl)}`);
    expect(first.status).toBe(202);
    const firstId = first.json.id as string;
    await waitFor(async () => (await task(firstId)).status === 'succeeded', 10_000, 'first task done');
    const started = Date.now();
    const plain = await submit(SHORT);
    const plainId = plain.json.id as string;
    await waitFor(async () => (await task(plainId)).status === 'succeeded', 10_000, 'plain task done');
    // Without the fix it waited for the first task's callback: 2 attempts x 5 s.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await task(firstId)).callback!.state).toBe('pending');
  }, 30_000);

  it('caps open callback connections and held deliveries; a callback past the cap fails at once, saying why', async () => {
    // The test before left one delivery held (and its connection open): 8 items fewer fit.
    const items = CONCURRENCY * PENDING_PER_CONNECTION + 8;
    const reply = await post(`${server.url}/v1/tasks/voice-activity:batch`, {
      items: Array.from({ length: items }, () => ({ inputs: { audio: SHORT.toString('base64') } })),
      callback_url: silentUrl,
    });
    expect(reply.status).toBe(200);
    const ids = (reply.json.items as { task: { id: string; status: string } }[]).map((item) => item.task.id);
    expect(ids).toHaveLength(items);
    await waitFor(async () => sockets.size === CONCURRENCY, 5_000, 'connections open');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One connection per attempt in flight, never more than the cap (without it: one per item).
    expect(mostOpen).toBe(CONCURRENCY);
    expect(accepted).toBe(CONCURRENCY);
    const tasks = await Promise.all(ids.map(task));
    const refused = tasks.filter((one) => one.callback?.state === 'failed');
    expect(refused).toHaveLength(9);
    for (const one of refused) {
      expect(one.status).toBe('succeeded');
      expect(one.callback!.attempts).toEqual([]);
      expect(one.callback!.error).toMatch(
        /^not sent: this gateway already held 32 callbacks waiting to be delivered \(CALLBACK_CONCURRENCY/,
      );
    }
    expect(tasks.filter((one) => one.callback?.state === 'pending')).toHaveLength(items - 9);
  }, 60_000);

  it('a task whose deadline passes while it waits for a slot fails saying so, with no step run', async () => {
    const long = await submit(LONG);
    const longId = long.json.id as string;
    await waitFor(async () => (await task(longId)).status === 'running', 10_000, 'long task running');
    const brief = await submit(SHORT, '?timeout_ms=300');
    const briefId = brief.json.id as string;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Its turn comes when the long task is cancelled: past its deadline.
    expect((await fetch(`${server.url}/v1/tasks/${longId}`, { method: 'DELETE' })).status).toBeLessThan(300);
    await waitFor(async () => (await task(briefId)).status === 'failed', 10_000, 'brief task failed');
    const failed = await task(briefId);
    expect(failed.error).toEqual({
      code: 'request_timeout',
      message: 'the task reached its deadline before it started, waiting for a free task slot (TASK_CONCURRENCY)',
    });
    const events = await (await fetch(`${server.url}/v1/tasks/${briefId}/events`)).text();
    expect(events).not.toMatch(/event: step-started/);
  }, 30_000);
});
