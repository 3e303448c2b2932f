import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { PROJECT_MODELS } from '../helpers/repository.js';
import { renderTextPage } from '../helpers/text-images.js';
import { concatenate, vowelLikeSpeech, wavFile } from '../helpers/wav.js';

let server: RunningServer;

beforeAll(async () => {
  // The repository `npm start` serves, as it ships.
  server = await startTestGateway(PROJECT_MODELS);
}, 120_000);
afterAll(async () => {
  await server.close();
});

describe('the shipped pipelines through the Task API', () => {
  it('lists every shipped pipeline', async () => {
    const names = ((await get(`${server.url}/v1/pipelines`)).json.pipelines as { name: string }[]).map((pipeline) => pipeline.name);
    expect(names).toEqual(['facial-expression', 'image-moderation', 'ocr', 'text-orientation', 'voice-activity']);
  });

  it('ocr reads a rendered page, with each model step and its cost in the result', async () => {
    const page = await renderTextPage([{ text: 'Invoice 2026-117' }, { text: 'Total due 418.50' }]);
    const reply = await post(`${server.url}/v1/tasks/ocr`, page, { 'content-type': 'image/png' });
    expect(reply.status).toBe(200);
    const result = reply.json.result as {
      outputs: { lines: { text: string; confidence: number }[] };
      steps: { step: string; kind: string; model?: string; requests?: number; cost_usd?: number }[];
      cost_usd: number;
    };
    expect(result.outputs.lines.map((line) => line.text)).toEqual(['Invoice 2026-117', 'Total due 418.50']);
    const models = result.steps.filter((step) => step.kind === 'model');
    expect(models.map((step) => step.model).sort()).toEqual(['text-detector', 'text-direction', 'text-recognizer']);
    expect(models.find((step) => step.model === 'text-recognizer')!.requests).toBe(2);
    expect(result.cost_usd).toBeCloseTo(
      models.reduce((sum, step) => sum + step.cost_usd!, 0),
      12,
    );
  });

  it('image-moderation takes a raw image body and allows a rendered document at once', async () => {
    const page = await renderTextPage([{ text: 'Invoice 2026-117' }, { text: 'Total due 418.50' }]);
    const reply = await post(`${server.url}/v1/tasks/image-moderation`, page, { 'content-type': 'image/png' });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'succeeded', result: { outputs: { decision: 'allow', reasons: [] } } });
  });

  it('voice-activity takes a raw WAV body and charges the model requests its loop made to the ledger', async () => {
    const silence = new Float32Array(16_000);
    const wav = wavFile([concatenate(silence, vowelLikeSpeech(16_000, 1), silence)], 16_000);
    const reply = await post(`${server.url}/v1/tasks/voice-activity`, wav, { 'content-type': 'audio/wav' });
    expect(reply.status).toBe(200);
    const result = reply.json.result as { outputs: { segments: { start_s: number; end_s: number }[] }; cost_usd: number };
    expect(result.outputs.segments).toHaveLength(1);
    expect(result.outputs.segments[0]!.start_s).toBeCloseTo(1, 0);
    const spend = (await get(`${server.url}/v1/spend`)).json as { entries: { model: string; usd: number }[] };
    expect(spend.entries.find((entry) => entry.model === 'silero-vad')?.usd).toBeGreaterThanOrEqual(result.cost_usd * 0.999);
    // The other names WAV goes by, and a generic binary body, are the same file.
    for (const type of ['audio/vnd.wave', 'audio/x-wav', 'audio/wave', 'application/octet-stream']) {
      const again = await post(`${server.url}/v1/tasks/voice-activity`, wav, { 'content-type': type });
      expect([again.status, (again.json.result as typeof result | undefined)?.outputs.segments.length], type).toEqual([200, 1]);
    }
  });
});
