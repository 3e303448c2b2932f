import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelines } from '../../gateway/pipelines/load-pipelines.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';
import type { RunningServer } from '../../gateway/server.js';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { StepFailedError } from '../../gateway/pipelines/run-pipeline.js';
import type { SpeechSegment } from '../../gateway/pipelines/transforms/vad/speech-segments.js';
import { startPipelineBackend, type PipelineBackend } from '../helpers/pipeline-backend.js';
import { TestRepository } from '../helpers/repository.js';
import { concatenate, tone, vowelLikeSpeech, wavFile } from '../helpers/wav.js';

const repository = new TestRepository().copy('silero-vad').copyPipeline('voice-activity');
let backend: PipelineBackend;

beforeAll(async () => {
  backend = await startPipelineBackend(repository.dir);
});
afterAll(async () => {
  await backend.close();
  repository.remove();
});

const silence = (rate: number, seconds: number): Float32Array => new Float32Array(Math.round(rate * seconds));

async function segmentsOf(wav: Uint8Array): Promise<{ segments: SpeechSegment[]; duration_s: number }> {
  const result = await backend.run('voice-activity', { audio: wav });
  return result.outputs as { segments: SpeechSegment[]; duration_s: number };
}

/** The same segments, each edge within one 32 ms window and confidence within 0.02. */
function expectSameSegments(actual: readonly SpeechSegment[], expected: readonly SpeechSegment[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((segment, index) => {
    const want = expected[index]!;
    expect(Math.abs(segment.start_s - want.start_s), JSON.stringify({ actual, expected })).toBeLessThanOrEqual(0.033);
    expect(Math.abs(segment.end_s - want.end_s), JSON.stringify({ actual, expected })).toBeLessThanOrEqual(0.033);
    expect(Math.abs(segment.confidence - want.confidence), JSON.stringify({ actual, expected })).toBeLessThanOrEqual(0.02);
  });
}

describe('voice-activity pipeline (Silero VAD, pretrained, state carried across windows)', () => {
  it('finds one segment around a voice-like signal between two silences', async () => {
    const wav = wavFile([concatenate(silence(16_000, 1), vowelLikeSpeech(16_000, 1.5), silence(16_000, 1))], 16_000);
    const started = performance.now();
    const result = await backend.run('voice-activity', { audio: wav });
    console.log(
      `voice-activity: 3.5 s clip in ${Math.round(performance.now() - started)} ms, segments ${JSON.stringify(result.outputs['segments'])}`,
    );
    const { segments, duration_s } = result.outputs as { segments: SpeechSegment[]; duration_s: number };
    expect(duration_s).toBe(3.5);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.start_s).toBeGreaterThan(0.85);
    expect(segments[0]!.start_s).toBeLessThan(1.15);
    expect(segments[0]!.end_s).toBeGreaterThan(2.3);
    expect(segments[0]!.end_s).toBeLessThan(2.7);
    expect(segments[0]!.confidence).toBeGreaterThan(0.8);
    expect(segments[0]!.confidence).toBeLessThanOrEqual(1);
    // One request per 512-sample window, priced like any other request.
    const loop = result.steps.find((step) => step.step === 'probabilities');
    expect(loop).toMatchObject({ kind: 'transform', model_requests: { requests: Math.ceil((3.5 * 16_000) / 512) } });
    expect(result.costUsd).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(result.outputs))).toEqual(result.outputs);
  });

  it('splits two bursts with a long pause between them, and reads 44.1 kHz stereo', async () => {
    const rate = 44_100;
    const channel = concatenate(
      silence(rate, 0.5),
      vowelLikeSpeech(rate, 1),
      silence(rate, 0.8),
      vowelLikeSpeech(rate, 1),
      silence(rate, 0.5),
    );
    const { segments } = await segmentsOf(wavFile([channel, channel], rate));
    expect(segments).toHaveLength(2);
    expect(segments[0]!.start_s).toBeCloseTo(0.5, 0);
    expect(segments[1]!.start_s).toBeCloseTo(2.3, 0);
  });

  it('finds the same segments in speech carrying a DC offset as without it', async () => {
    // Quiet speech: with an offset of 0.5 it was not found at all.
    const quiet = concatenate(
      silence(16_000, 1),
      vowelLikeSpeech(16_000, 2, 0.045),
      silence(16_000, 1),
      vowelLikeSpeech(16_000, 1.5, 0.045),
    );
    const clean = await segmentsOf(wavFile([quiet], 16_000));
    expect(clean.segments).toHaveLength(2);
    const offset = await segmentsOf(wavFile([quiet.map((sample) => sample + 0.5)], 16_000));
    // Within a window: 16-bit rounding of the shifted samples differs by a step.
    expectSameSegments(offset.segments, clean.segments);
  });

  it('reads stereo with one channel phase-inverted as its mono channel, not as silence', async () => {
    const rate = 44_100;
    const channel = concatenate(
      silence(rate, 0.5),
      vowelLikeSpeech(rate, 1),
      silence(rate, 0.8),
      vowelLikeSpeech(rate, 1),
      silence(rate, 0.5),
    );
    const mono = await segmentsOf(wavFile([channel], rate));
    expect(mono.segments).toHaveLength(2);
    expect(await segmentsOf(wavFile([channel, channel.map((sample) => -sample)], rate))).toEqual(mono);
  });

  it('finds no speech in silence, nor in a steady tone', async () => {
    expect(await segmentsOf(wavFile([silence(16_000, 2)], 16_000))).toEqual({ segments: [], duration_s: 2 });
    expect((await segmentsOf(wavFile([tone(440, 16_000, 2, 0.3)], 16_000))).segments).toEqual([]);
  });

  it('fails a corrupt WAV at the step that decodes it, as invalid_media', async () => {
    const failure = await backend.run('voice-activity', { audio: new Uint8Array([1, 2, 3, 4, 5]) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailedError);
    expect(failure).toMatchObject({ step: 'probabilities', code: 'invalid_media', message: expect.stringMatching(/not a WAV file/) });
  });
});

describe('silero-vad as a plain model (scalar INT64 input, no batch dim)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestGateway(repository.dir);
  });
  afterAll(async () => {
    await server.close();
  });

  it('takes sr as an INT64 scalar over HTTP JSON and returns a probability in [0, 1] and the next state', async () => {
    const state = { datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) };
    const window = Array.from(vowelLikeSpeech(16_000, 0.032));
    const reply = await post(`${server.url}/v2/models/silero-vad/infer`, {
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512], data: window },
        { name: 'sr', datatype: 'INT64', shape: [], data: [16_000] },
        { name: 'h', ...state },
        { name: 'c', ...state },
      ],
    });
    expect(reply.status).toBe(200);
    const outputs = reply.json['outputs'] as { name: string; shape: number[]; data: number[] }[];
    const probability = outputs.find((output) => output.name === 'output')!;
    expect(probability.shape).toEqual([1, 1]);
    expect(probability.data[0]).toBeGreaterThanOrEqual(0);
    expect(probability.data[0]).toBeLessThanOrEqual(1);
    expect(outputs.find((output) => output.name === 'hn')!.shape).toEqual([2, 1, 64]);
  });

  it('refuses sr given with a shape', async () => {
    const state = { datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) };
    const reply = await post(`${server.url}/v2/models/silero-vad/infer`, {
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512], data: new Array(512).fill(0) },
        { name: 'sr', datatype: 'INT64', shape: [1], data: [16_000] },
        { name: 'h', ...state },
        { name: 'c', ...state },
      ],
    });
    expect(reply).toMatchObject({ status: 400, json: { code: 'shape_mismatch' } });
  });
});

describe('voice-activity pipeline loading', () => {
  it('is refused when the model its loop calls is not in the repository', async () => {
    const bare = new TestRepository().copy('text-direction').copyPipeline('voice-activity');
    try {
      await expect(loadPipelines(bare.dir, await loadRepository(bare.dir), builtInTransforms())).rejects.toThrow(
        /calls model "silero-vad", which is not in the repository/,
      );
    } finally {
      bare.remove();
    }
  });
});
