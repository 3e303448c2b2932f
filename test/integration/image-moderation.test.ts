import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { load } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { documentImage, drawnShapes, landscapePhoto } from '../helpers/ordinary-images.js';
import { startPipelineBackend, type PipelineBackend } from '../helpers/pipeline-backend.js';
import { TestRepository } from '../helpers/repository.js';
import { referenceBackend } from '../helpers/tfjs-reference.js';

const KEYS = { ops: 'ops-moderation-key', acme: 'acme-moderation-key', strict: 'strict-moderation-key' } as const;
const CALLBACK_SECRET = 'strict-callback-secret-0123456789';
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/**
 * acme keeps the pipeline's thresholds; strict's policy lays its own over them, so the
 * real scores of ordinary images reach a decision other than allow: documents (neutral
 * about 0.97) go to review, drawings (drawing about 0.9) are blocked.
 */
function fixture(): { repository: TestRepository; env: Record<string, string> } {
  // Batches of at most 4 rows: a 32-item bulk batch takes 8 or more model runs, so it is still queued
  // on the model long after the next requests arrive (urgent-overtakes-bulk below).
  const model = { max_batch_size: 4, dynamic_batching: { preferred_batch_sizes: [4], max_queue_delay_ms: 5 } };
  const repository = new TestRepository().copy('image-safety', model).copyPipeline('image-moderation');
  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(KEYS.ops) }] },
      { name: 'acme', keys: [{ sha256: hashKey(KEYS.acme) }], models: ['image-moderation'] },
      {
        name: 'strict',
        keys: [{ sha256: hashKey(KEYS.strict) }],
        models: ['image-moderation'],
        callback_secret: { env: 'STRICT_CALLBACK_SECRET' },
        // The test's callback receiver listens on loopback, which callbacks may reach only when allowed.
        callback_allow: ['127.0.0.1'],
        pipeline_options: { 'image-moderation': { decide: { review: { neutral: 0.5 }, block: { drawing: 0.5 } } } },
      },
    ],
  };
  const configFile = join(repository.dir, 'switchyard.yaml');
  writeFileSync(configFile, stringify(policy));
  return { repository, env: { SWITCHYARD_CONFIG: configFile, STRICT_CALLBACK_SECRET: CALLBACK_SECRET } };
}

interface Scores {
  drawing: number;
  hentai: number;
  neutral: number;
  porn: number;
  sexy: number;
}

interface TaskJson {
  id: string;
  status: string;
  priority: number;
  finished_at?: string;
  result?: { outputs: { scores: Scores; decision: string; reasons: { label: string; decision: string }[] } };
  review?: { requested: boolean; id?: string; status?: string };
  callback?: { state: string };
  error?: { code: string };
}

const explicit = (scores: Scores): number => scores.porn + scores.hentai;

describe('image-safety model (nsfwjs MobileNetV2, weights from the installed package)', () => {
  const repository = new TestRepository().copy('image-safety').copyPipeline('image-moderation');
  let backend: PipelineBackend;
  beforeAll(async () => {
    backend = await startPipelineBackend(repository.dir);
  });
  afterAll(async () => {
    await backend.close();
    repository.remove();
  });

  it("scores a 224x224 image as nsfwjs's own classify does (same scaling, no resize on either side)", async () => {
    const image = await sharp(await landscapePhoto(3, 224, 224))
      .png()
      .toBuffer();
    const ours = (await backend.run('image-moderation', { image })).outputs['scores'] as Scores;
    await referenceBackend();
    const reference = await load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });
    const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const pixels = tf.tensor3d(new Int32Array(data), [info.height, info.width, 3], 'int32');
    const theirs = await reference.classify(pixels as tf.Tensor3D, 5);
    pixels.dispose();
    for (const { className, probability } of theirs) {
      expect(ours[className.toLowerCase() as keyof Scores], className).toBeCloseTo(probability, 3);
    }
  });

  it('classifies ordinary generated images (drawn shapes, documents, landscapes) as non-explicit, and allows them', async () => {
    const images = [
      await drawnShapes(),
      await drawnShapes(180),
      await documentImage(1),
      await documentImage(2),
      await landscapePhoto(1),
      await landscapePhoto(4),
    ];
    const results = await Promise.all(images.map((image) => backend.run('image-moderation', { image })));
    const summary = results.map((result) => JSON.stringify(result.outputs['scores'])).join('\n');
    for (const result of results) {
      // The small drawing's porn score is about 0.05, its hentai 0.03: far under every threshold.
      expect(explicit(result.outputs['scores'] as Scores), summary).toBeLessThan(0.15);
      expect(result.outputs['decision']).toBe('allow');
      expect(result.outputs['reasons']).toEqual([]);
    }
    expect((results[0]!.outputs['scores'] as Scores).drawing, summary).toBeGreaterThan(0.5);
    expect((results[2]!.outputs['scores'] as Scores).neutral, summary).toBeGreaterThan(0.5);
    // The six requests went to the model together, not one at a time.
    const classify = results.map((result) => result.steps.find((step) => step.step === 'classify'));
    expect(classify.every((step) => step?.kind === 'model')).toBe(true);
  });
});

describe('image-moderation tasks: thresholds from policy, review routing, batches', { timeout: 240_000 }, () => {
  const { repository, env } = fixture();
  let server: RunningServer;
  let receiver: Server;
  const received: Record<string, unknown>[] = [];
  let hook = '';
  let shapes: Buffer;
  let page: Buffer;
  let landscape: Buffer;

  const waitForTask = async (id: string, key: string, until: (task: TaskJson) => boolean): Promise<TaskJson> => {
    let task: TaskJson | undefined;
    for (let i = 0; i < 1800; i += 1) {
      task = (await get(`${server.url}/v1/tasks/${id}`, bearer(key))).json as unknown as TaskJson;
      if (until(task)) return task;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`task ${id} did not get there: ${JSON.stringify(task)}`);
  };

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
    hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    server = await startTestGateway(repository.dir, {
      ...env,
      CALLBACK_BACKOFF_MS: '20',
      TASK_BATCH_MAX_ITEMS: '32',
      TASK_BATCH_MAX_PENDING: '40',
    });
    [shapes, page, landscape] = [await drawnShapes(), await documentImage(3), await landscapePhoto(2)];
  });
  afterAll(async () => {
    await server.close();
    receiver.close();
    repository.remove();
  });

  it('answers allow and block at once; a review decision waits in needs_review, and the verdict goes out in the callback', async () => {
    const allowed = await post(
      `${server.url}/v1/tasks/image-moderation`,
      { inputs: { image: page.toString('base64') } },
      bearer(KEYS.acme),
    );
    expect(allowed.json).toMatchObject({ status: 'succeeded', result: { outputs: { decision: 'allow' } } });
    expect((allowed.json as unknown as TaskJson).review).toBeUndefined();

    const blocked = await post(
      `${server.url}/v1/tasks/image-moderation`,
      { inputs: { image: shapes.toString('base64') } },
      bearer(KEYS.strict),
    );
    expect(blocked.json).toMatchObject({
      status: 'succeeded',
      result: { outputs: { decision: 'block', reasons: [{ label: 'drawing', decision: 'block' }] } },
    });

    const reply = await post(
      `${server.url}/v1/tasks/image-moderation`,
      { inputs: { image: page.toString('base64') }, callback_url: hook },
      { ...bearer(KEYS.strict), prefer: 'respond-async' },
    );
    expect(reply.status).toBe(202);
    const id = (reply.json as unknown as TaskJson).id;
    const waiting = await waitForTask(id, KEYS.strict, (task) => task.status === 'needs_review');
    expect(waiting).toMatchObject({
      result: { outputs: { decision: 'review', reasons: [{ label: 'neutral', decision: 'review' }] } },
      review: { requested: false, status: 'pending_review' },
    });
    const item = (await get(`${server.url}/v1/reviews/${waiting.review!.id}`, bearer(KEYS.ops))).json;
    // The reviewer sees the image as sent.
    expect(item).toMatchObject({
      reason: 'pipeline_decision',
      task_id: id,
      tenant: 'strict',
      input_ref: { content_type: 'image/jpeg', bytes: page.length },
    });
    expect(received.filter((body) => body.id === id)).toHaveLength(0);

    expect((await post(`${server.url}/v1/reviews/${waiting.review!.id}/claim`, {}, bearer(KEYS.ops))).status).toBe(200);
    expect(
      (
        await post(
          `${server.url}/v1/reviews/${waiting.review!.id}/resolve`,
          { decision: 'correct', output: { decision: 'allow' } },
          bearer(KEYS.ops),
        )
      ).status,
    ).toBe(200);
    const done = await waitForTask(id, KEYS.strict, (task) => task.callback?.state === 'delivered');
    expect(done).toMatchObject({ status: 'succeeded', review: { status: 'corrected' } });
    expect(received.find((body) => body.id === id)).toMatchObject({
      status: 'succeeded',
      review: { status: 'corrected', human_output: { decision: 'allow' } },
    });
  });

  it('takes a batch as a JSON list or as multipart files: one task per image, answered per item', async () => {
    const json = await post(
      `${server.url}/v1/tasks/image-moderation:batch`,
      { items: [shapes, page, landscape].map((image) => ({ inputs: { image: image.toString('base64') } })) },
      bearer(KEYS.strict),
    );
    expect(json.status).toBe(200);
    const items = (json.json as { items: { index: number; task: TaskJson }[] }).items;
    expect(items.map((item) => [item.index, item.task.status, item.task.result?.outputs.decision])).toEqual([
      [0, 'succeeded', 'block'],
      [1, 'needs_review', 'review'],
      [2, 'needs_review', 'review'],
    ]);

    const form = new FormData();
    for (const image of [shapes, page, landscape]) form.append('image', new Blob([image]), 'image');
    form.append('options', JSON.stringify({ priority: 3 }));
    const multipart = await fetch(`${server.url}/v1/tasks/image-moderation:batch`, {
      method: 'POST',
      body: form,
      headers: bearer(KEYS.acme),
    });
    const answered = (await multipart.json()) as { items: { task: TaskJson }[] };
    expect(answered.items.map((item) => [item.task.status, item.task.priority, item.task.result?.outputs.decision])).toEqual([
      ['succeeded', 3, 'allow'],
      ['succeeded', 3, 'allow'],
      ['succeeded', 3, 'allow'],
    ]);
  });

  it('refuses malformed batches with clear errors, and answers a bad image in its own item', async () => {
    const url = `${server.url}/v1/tasks/image-moderation:batch`;
    const one = { inputs: { image: page.toString('base64') } };
    expect(await post(url, { items: Array.from({ length: 33 }, () => one) }, bearer(KEYS.acme))).toMatchObject({
      status: 400,
      json: { code: 'too_many_items' },
    });
    expect(await post(url, { items: [] }, bearer(KEYS.acme))).toMatchObject({ status: 400, json: { code: 'too_many_items' } });
    expect(await post(url, { images: [] }, bearer(KEYS.acme))).toMatchObject({ status: 400, json: { code: 'invalid_request' } });
    expect(await post(url, { items: [{ image: 'x' }] }, bearer(KEYS.acme))).toMatchObject({
      status: 400,
      json: { code: 'invalid_request' },
    });
    expect(await post(url, { items: [{ inputs: { picture: 'AA==' } }] }, bearer(KEYS.acme))).toMatchObject({
      status: 400,
      json: { code: 'unknown_input' },
    });
    expect(await post(url, { items: [one, { inputs: { image: '!!!!' } }] }, bearer(KEYS.acme))).toMatchObject({
      status: 400,
      json: {
        code: 'invalid_request',
        error:
          'items[1] input "image" is not valid base64: character 0 is not in the base64 alphabet (no whitespace either); send the file\'s bytes as base64 or a data: URI',
      },
    });
    expect(await post(url, '{"items":[{"inputs":{"__proto__":"AA=="}}]}', bearer(KEYS.acme))).toMatchObject({
      status: 400,
      json: { code: 'unknown_input' },
    });
    expect(await post(url, { items: [one], priority: -1 }, bearer(KEYS.acme))).toMatchObject({
      status: 400,
      json: { code: 'invalid_parameter' },
    });
    expect(await post(`${server.url}/v1/tasks/nothing:batch`, { items: [one] }, bearer(KEYS.ops))).toMatchObject({
      status: 404,
      json: { code: 'pipeline_not_found' },
    });
    expect(await post(url, { items: [one] }, {})).toMatchObject({ status: 401 });
    const mixed = await post(
      url,
      { items: [one, { inputs: { image: Buffer.from('not an image').toString('base64') } }] },
      bearer(KEYS.acme),
    );
    expect(mixed.status).toBe(200);
    expect((mixed.json as { items: { task: TaskJson }[] }).items.map((item) => [item.task.status, item.task.error?.code])).toEqual([
      ['succeeded', undefined],
      ['failed', 'invalid_media'],
    ]);
  });

  it('lets urgent items overtake a bulk batch on the model, and refuses a batch whole when the gateway is full (503, nothing lost)', async () => {
    const url = `${server.url}/v1/tasks/image-moderation:batch`;
    // 32 bulk items take at least 8 model runs of 4 rows on the one instance: the urgent item, sent as soon
    // as the bulk is accepted, finds most of them still queued, and the queue serves it before them.
    const bulkImages = await Promise.all(
      Array.from({ length: 32 }, (_, index) => (index % 2 === 0 ? documentImage(10 + index) : drawnShapes(160 + index))),
    );
    const bulkBody = JSON.stringify({
      items: bulkImages.map((image) => ({ inputs: { image: image.toString('base64') } })),
      priority: 5,
      timeout_ms: 300_000,
    });
    const urgentBody = JSON.stringify({ items: [{ inputs: { image: page.toString('base64') } }], priority: 0 });
    const refusedBody = JSON.stringify({ items: bulkImages.map((image) => ({ inputs: { image: image.toString('base64') } })) });
    const bulk = await post(url, bulkBody, { ...bearer(KEYS.acme), prefer: 'respond-async' });
    expect(bulk.status).toBe(202);
    const bulkIds = (bulk.json as { items: { task: TaskJson }[] }).items.map((item) => item.task.id);
    const urgentReply = post(url, urgentBody, bearer(KEYS.acme));

    // 32 of 40 places (33 with the urgent item) are held until the bulk's first 24 items are done: another 32
    // do not fit, and none of them becomes a task.
    const refused = await post(url, refusedBody, bearer(KEYS.acme));
    expect(refused).toMatchObject({ status: 503, json: { code: 'tasks_busy' } });
    expect(refused.headers.get('retry-after')).not.toBeNull();

    const urgent = await urgentReply;
    expect(urgent.status).toBe(200);
    const urgentTask = (urgent.json as { items: { task: TaskJson }[] }).items[0]!.task;
    expect(urgentTask.status).toBe('succeeded');

    const bulkDone = await Promise.all(bulkIds.map((id) => waitForTask(id, KEYS.acme, (task) => task.status === 'succeeded')));
    // Every accepted item was answered; some bulk items, queued first, finished after the urgent one.
    expect(bulkDone.every((task) => task.result?.outputs.decision === 'allow')).toBe(true);
    const later = bulkDone.filter((task) => Date.parse(task.finished_at!) > Date.parse(urgentTask.finished_at!));
    expect(later.length).toBeGreaterThan(0);

    // With the places back, the refused batch goes through whole.
    const retried = await post(url, refusedBody, bearer(KEYS.acme));
    expect(retried.status).toBe(200);
    expect((retried.json as { items: unknown[] }).items).toHaveLength(32);
  });
});
