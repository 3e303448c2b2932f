import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { verifyCallback } from '../../gateway/tasks/callback-signature.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';
import { renderTextLine } from '../helpers/text-images.js';

const SECRET = 'test-callback-secret-0123456789';
const repository = new TestRepository().copy('text-direction').copyPipeline('text-orientation');
let server: RunningServer;

interface TaskJson {
  id: string;
  status: string;
  runs: number;
  result?: {
    outputs: { orientation: { label: string; score: number }[] };
    steps: { step: string; kind: string; model?: string; version?: string; compute_ms?: number; cost_usd?: number }[];
    cost_usd: number;
  };
  error?: { code: string; message: string; step?: string };
  callback?: { state: string; attempts: { attempt: number; status?: number }[] };
}

async function postImage(
  path: string,
  image: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  return post(`${server.url}${path}`, image, { 'content-type': 'image/png', ...headers });
}

async function waitForTask(id: string, until: (task: TaskJson) => boolean): Promise<TaskJson> {
  for (let i = 0; i < 200; i += 1) {
    const task = (await get(`${server.url}/v1/tasks/${id}`)).json as unknown as TaskJson;
    if (until(task)) return task;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`task ${id} did not get there`);
}

beforeAll(async () => {
  // No tenants (open mode); callbacks may reach the test's receiver on loopback.
  const policy = join(repository.dir, 'switchyard.json');
  writeFileSync(policy, JSON.stringify({ callbacks: { allow: ['127.0.0.1'] } }));
  server = await startTestGateway(repository.dir, { CALLBACK_SECRET: SECRET, CALLBACK_BACKOFF_MS: '20', SWITCHYARD_CONFIG: policy });
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

describe('Task API (embedded mode)', () => {
  it('runs a pipeline synchronously and answers with the result and per-step metadata', async () => {
    const reply = await postImage('/v1/tasks/text-orientation', await renderTextLine('Upright text 123'));
    expect(reply.status).toBe(200);
    const task = reply.json as unknown as TaskJson;
    expect(task.status).toBe('succeeded');
    expect(reply.headers.get('x-task-id')).toBe(task.id);
    expect(task.result!.outputs.orientation[0]!.label).toBe('upright');
    const classify = task.result!.steps.find((step) => step.step === 'classify')!;
    expect(classify).toMatchObject({ kind: 'model', model: 'text-direction', version: '1' });
    expect(classify.compute_ms).toBeGreaterThan(0);
    expect(classify.cost_usd).toBeGreaterThan(0);
    expect(task.result!.cost_usd).toBeCloseTo(classify.cost_usd!, 12);
    // The same task can be read back.
    expect(((await get(`${server.url}/v1/tasks/${task.id}`)).json as unknown as TaskJson).result).toEqual(task.result);
  });

  it('takes JSON with base64 media and multipart uploads too', async () => {
    const turned = await renderTextLine('Turned around', { rotate: 180 });
    const json = await post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image: turned.toString('base64') } });
    expect(json.status).toBe(200);
    expect((json.json as unknown as TaskJson).result!.outputs.orientation[0]!.label).toBe('upside-down');

    const form = new FormData();
    form.append('image', new Blob([turned], { type: 'image/png' }), 'line.png');
    const multipart = await fetch(`${server.url}/v1/tasks/text-orientation`, { method: 'POST', body: form });
    expect(multipart.status).toBe(200);
    expect(((await multipart.json()) as TaskJson).result!.outputs.orientation[0]!.label).toBe('upside-down');
  });

  it('runs asynchronously with Prefer: respond-async and streams every step as server-sent events', async () => {
    const reply = await postImage('/v1/tasks/text-orientation', await renderTextLine('async task'), { prefer: 'respond-async' });
    expect(reply.status).toBe(202);
    const accepted = reply.json as unknown as TaskJson;
    expect(accepted.status).toBe('queued');
    expect(reply.headers.get('location')).toBe(`/v1/tasks/${accepted.id}`);

    const events = await fetch(`${server.url}/v1/tasks/${accepted.id}/events`);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const text = await events.text();
    const names = [...text.matchAll(/^event: (.+)$/gm)].map(([, name]) => name);
    expect(names).toEqual([
      'task-queued',
      'task-started',
      'step-started',
      'step-finished',
      'step-started',
      'step-finished',
      'task-succeeded',
    ]);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map(([, id]) => Number(id));
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(text).toContain('"step":"classify"');

    // Resuming after event 5 gives only what came later.
    const resumed = await (await fetch(`${server.url}/v1/tasks/${accepted.id}/events`, { headers: { 'last-event-id': '5' } })).text();
    expect([...resumed.matchAll(/^id: (\d+)$/gm)].map(([, id]) => Number(id))).toEqual([6, 7]);

    const done = await waitForTask(accepted.id, (task) => task.status === 'succeeded');
    expect(done.result!.outputs.orientation[0]!.label).toBe('upright');
  });

  it('posts the result to callback_url, signed, retrying until the receiver accepts it', async () => {
    const received: { body: string; timestamp: number; signature: string }[] = [];
    const receiver: Server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({
          body: Buffer.concat(chunks).toString('utf8'),
          timestamp: Number(request.headers['x-switchyard-timestamp']),
          signature: String(request.headers['x-switchyard-signature']),
        });
        // The first delivery fails, so the retry is seen.
        response.writeHead(received.length === 1 ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    try {
      const image = (await renderTextLine('call me back')).toString('base64');
      const reply = await post(
        `${server.url}/v1/tasks/text-orientation`,
        { inputs: { image }, callback_url: `http://127.0.0.1:${port}/hook` },
        { prefer: 'respond-async' },
      );
      expect(reply.status).toBe(202);
      const task = await waitForTask((reply.json as unknown as TaskJson).id, (t) => t.callback?.state !== 'pending');
      expect(task.callback!.state).toBe('delivered');
      expect(task.callback!.attempts.map((attempt) => attempt.status)).toEqual([500, 204]);
      expect(received).toHaveLength(2);
      for (const delivery of received) {
        expect(verifyCallback(SECRET, delivery.timestamp, delivery.body, delivery.signature)).toBe(true);
        expect(verifyCallback('another-secret-0123456789', delivery.timestamp, delivery.body, delivery.signature)).toBe(false);
        const body = JSON.parse(delivery.body) as TaskJson;
        expect(body.id).toBe(task.id);
        expect(body.result!.outputs.orientation[0]!.label).toBe('upright');
      }
    } finally {
      receiver.close();
    }
  });

  it('takes the image as the whole body under application/octet-stream and the types clients send for JPEG', async () => {
    const line = await renderTextLine('Upright text 123');
    const jpeg = await renderTextLine('Upright text 123', { format: 'jpeg' });
    for (const [body, type] of [
      [line, 'application/octet-stream'],
      [jpeg, 'image/jpg'],
      [jpeg, 'image/JPEG; charset=binary'],
    ] as const) {
      const reply = await postImage('/v1/tasks/text-orientation', body, { 'content-type': type });
      expect([reply.status, (reply.json as unknown as TaskJson).result?.outputs.orientation[0]?.label], type).toEqual([200, 'upright']);
    }
    // Bytes that are no image are the step's media error, not a JSON parse error.
    const notImage = await postImage('/v1/tasks/text-orientation', Buffer.from('not an image at all'), {
      'content-type': 'application/octet-stream',
    });
    expect([notImage.status, notImage.json.code]).toEqual([400, 'invalid_media']);
    // A model whose one input is an image takes image/jpg as a raw body too.
    const infer = await post(`${server.url}/v2/models/text-direction/infer`, jpeg, { 'content-type': 'image/jpg' });
    expect(infer.status).toBe(200);
  });

  it('fails a task whose step fails, naming the step, in both modes', async () => {
    const corrupt = (await renderTextLine('broken')).subarray(0, 60);
    const sync = await postImage('/v1/tasks/text-orientation', corrupt);
    expect(sync.status).toBe(400);
    expect(sync.json.code).toBe('invalid_media');
    expect(sync.json.error).toMatch(/^step "classify" failed: /);

    const accepted = await postImage('/v1/tasks/text-orientation', corrupt, { prefer: 'respond-async' });
    const failed = await waitForTask((accepted.json as unknown as TaskJson).id, (task) => task.status === 'failed');
    expect(failed.error).toMatchObject({ code: 'invalid_media', step: 'classify' });
  });

  it('refuses bad task requests with clear errors', async () => {
    const image = await renderTextLine('x');
    const cases: [Promise<{ status: number; json: Record<string, unknown> }>, number, string][] = [
      [postImage('/v1/tasks/no-such-pipeline', image), 404, 'pipeline_not_found'],
      [get(`${server.url}/v1/tasks/00000000-0000-0000-0000-000000000000`), 404, 'task_not_found'],
      [post(`${server.url}/v1/tasks/text-orientation`, { inputs: {} }), 400, 'missing_input'],
      [post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image: 'aGVsbG8=', extra: 1 } }), 400, 'unknown_input'],
      [post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image: 42 } }), 400, 'invalid_request'],
      [post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image: '' } }), 400, 'invalid_media'],
      [post(`${server.url}/v1/tasks/text-orientation`, { image: 'x' }), 400, 'invalid_request'],
      [post(`${server.url}/v1/tasks/text-orientation`, '{"inputs":'), 400, 'invalid_json'],
      [post(`${server.url}/v1/tasks/text-orientation`, ''), 400, 'empty_body'],
      [
        post(`${server.url}/v1/tasks/text-orientation`, {
          inputs: { image: image.toString('base64') },
          callback_url: 'ftp://example.com/x',
        }),
        400,
        'invalid_parameter',
      ],
      [
        post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image: image.toString('base64') }, timeout_ms: -5 }),
        400,
        'invalid_parameter',
      ],
      [
        post(`${server.url}/v1/tasks/text-orientation`, new Uint8Array([82, 73, 70, 70]), { 'content-type': 'audio/wav' }),
        415,
        'unsupported_media_type',
      ],
    ];
    for (const [reply, status, code] of cases) {
      const answer = await reply;
      expect({ status: answer.status, code: answer.json.code }).toEqual({ status, code });
      expect(typeof answer.json.error).toBe('string');
    }
    // Base64 that is not base64 is refused, not decoded to other bytes ("!!!!" was zero bytes: "is empty").
    for (const [value, why] of [
      ['!!!!', /character 0 is not in the base64 alphabet/],
      [`${image.toString('base64').slice(0, 40)}\n${image.toString('base64').slice(40)}`, /character 40 is not in the base64 alphabet/],
      ['aGVsbG8=aGVs', /padding at character 7/],
      ['aGVsb', /leave one over/],
      ['data:image/png;base64,a!b=', /character 1 is not/],
    ] as const) {
      const refused = await post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image: value } });
      expect([refused.status, refused.json.code], value).toEqual([400, 'invalid_request']);
      expect(refused.json.error).toMatch(/^input "image" is not valid base64: /);
      expect(refused.json.error).toMatch(why);
    }
    // A key of Object.prototype is no input of the pipeline.
    const proto = await post(`${server.url}/v1/tasks/text-orientation`, '{"inputs":{"__proto__":{"a":1},"image":"aGVsbG8="}}');
    expect(proto.json).toEqual({ code: 'unknown_input', error: 'pipeline "text-orientation" has no input "__proto__" (inputs: image)' });
    const inherited = await post(`${server.url}/v1/tasks/text-orientation`, { inputs: { toString: 'aGVsbG8=', image: 'aGVsbG8=' } });
    expect(inherited.json.code).toBe('unknown_input');
  });

  it('fails a task that passes its deadline with request_timeout', async () => {
    const image = (await renderTextLine('too slow')).toString('base64');
    const reply = await post(`${server.url}/v1/tasks/text-orientation`, { inputs: { image }, timeout_ms: 1 });
    expect(reply.status).toBe(503);
    expect(reply.json.code).toBe('request_timeout');
  });

  it('lists the pipelines with their inputs and steps', async () => {
    const reply = await get(`${server.url}/v1/pipelines`);
    expect(reply.json.pipelines).toEqual([
      expect.objectContaining({
        name: 'text-orientation',
        inputs: { image: expect.objectContaining({ kind: 'image' }) },
        outputs: ['orientation'],
        steps: [
          { id: 'classify', model: 'text-direction' },
          { id: 'label', transform: 'top-k' },
        ],
      }),
    ]);
  });
});
