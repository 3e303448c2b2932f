import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { TASK_KEYS, bearerKey, echoInput, taskFixture } from '../helpers/task-fixture.js';

const fixture = taskFixture();
let server: RunningServer;
let receiver: Server;
const received: Record<string, unknown>[] = [];
const alpha = bearerKey(TASK_KEYS.alpha);
const ops = bearerKey(TASK_KEYS.admin);

interface TaskJson {
  id: string;
  status: string;
  result?: { outputs: { echoed: { data: number[] } } };
  review?: { requested: boolean; id?: string; status?: string; resolved_by?: string; human_output?: unknown };
  callback?: { state: string };
}

async function waitForTask(id: string, until: (task: TaskJson) => boolean): Promise<TaskJson> {
  for (let i = 0; i < 200; i += 1) {
    const task = (await get(`${server.url}/v1/tasks/${id}`, alpha)).json as unknown as TaskJson;
    if (until(task)) return task;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`task ${id} did not get there`);
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, CALLBACK_BACKOFF_MS: '20' });
});
afterAll(async () => {
  await server.close();
  receiver.close();
  fixture.repository.remove();
});

describe('human review of async tasks', () => {
  it('holds a task in needs_review, and its callback, until the item is resolved', async () => {
    const port = (receiver.address() as { port: number }).port;
    const reply = await post(
      `${server.url}/v1/tasks/echo-json`,
      { ...echoInput([1, 2, 3, 4]), review: true, callback_url: `http://127.0.0.1:${port}/hook` },
      { ...alpha, prefer: 'respond-async' },
    );
    expect(reply.status).toBe(202);
    const id = (reply.json as unknown as TaskJson).id;
    const waiting = await waitForTask(id, (task) => task.status === 'needs_review');
    expect(waiting.result?.outputs.echoed.data).toEqual([1, 2, 3, 4]);
    expect(waiting.review).toMatchObject({ requested: true, status: 'pending_review' });
    expect(waiting.callback?.state).toBe('pending');

    const reviewId = waiting.review!.id!;
    const item = (await get(`${server.url}/v1/reviews/${reviewId}`, ops)).json;
    expect(item).toMatchObject({
      route: 'echo-json',
      task_id: id,
      reason: 'requested',
      tenant: 'alpha',
      state: 'pending',
      model_output: { echoed: { data: [1, 2, 3, 4] } },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toHaveLength(0);

    expect((await post(`${server.url}/v1/reviews/${reviewId}/claim`, {}, ops)).status).toBe(200);
    expect(
      (await post(`${server.url}/v1/reviews/${reviewId}/resolve`, { decision: 'correct', output: { echoed: [4, 3, 2, 1] } }, ops)).status,
    ).toBe(200);
    const done = await waitForTask(id, (task) => task.callback?.state === 'delivered');
    expect(done).toMatchObject({
      status: 'succeeded',
      review: { id: reviewId, status: 'corrected', resolved_by: 'ops', human_output: { echoed: [4, 3, 2, 1] } },
    });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ id, status: 'succeeded', review: { status: 'corrected', human_output: { echoed: [4, 3, 2, 1] } } });
  });

  it('a task without "review" succeeds at once; a bad value is a 400', async () => {
    const reply = await post(`${server.url}/v1/tasks/echo-json`, echoInput([1, 1, 1, 1]), alpha);
    expect(reply.json).toMatchObject({ status: 'succeeded' });
    expect((reply.json as unknown as TaskJson).review).toBeUndefined();
    expect(await post(`${server.url}/v1/tasks/echo-json`, { ...echoInput([1, 1, 1, 1]), review: 'yes' }, alpha)).toMatchObject({
      status: 400,
      json: { code: 'invalid_parameter' },
    });
  });
});
