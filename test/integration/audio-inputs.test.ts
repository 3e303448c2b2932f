import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { filesInput, postBinary } from '../helpers/binary-request.js';
import { startTestGateway } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { TestRepository } from '../helpers/repository.js';
import { tone, wavFile } from '../helpers/wav.js';

/** An echo model with a 16 kHz audio input: what comes out is exactly what the decoder made. */
const repository = new TestRepository().add(
  'echo-audio',
  {
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 4,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], audio: { sample_rate: 16000 } }],
    outputs: [{ name: 'out_x', datatype: 'FP32', shape: [-1] }],
    warmup: { enabled: true, dims: { x: [1600] } },
    price: { usd_per_compute_second: 0 },
  },
  { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 'samples'] }]) },
);
let server: RunningServer;
beforeAll(async () => {
  server = await startTestGateway(repository.dir);
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

type Answer = { status: number; json: { outputs?: { shape: number[]; data: number[] }[]; code?: string; error?: string } };

async function sendAudio(files: Uint8Array[]): Promise<Answer> {
  const reply = await postBinary(`${server.url}/v2/models/echo-audio/infer`, [filesInput('x', files)]);
  return { status: reply.status, json: reply.json() };
}

describe('audio inputs (WAV)', () => {
  it('decodes 16-bit PCM mono at the model rate exactly', async () => {
    const samples = tone(440, 16000, 0.1);
    const answer = await sendAudio([wavFile([samples], 16000)]);
    expect(answer.status).toBe(200);
    const [output] = answer.json.outputs!;
    expect(output!.shape).toEqual([1, 1600]);
    output!.data.forEach((value, i) => expect(Math.abs(value - samples[i]!)).toBeLessThan(1 / 16000));
  });

  it('averages stereo to mono and resamples 32-bit float 48 kHz to 16 kHz', async () => {
    const left = tone(200, 48000, 0.1, 0.8);
    const right = new Float32Array(left.length); // silence: the mono mix is half the left channel
    const answer = await sendAudio([wavFile([left, right], 48000, 'float32')]);
    expect(answer.status).toBe(200);
    const [output] = answer.json.outputs!;
    expect(output!.shape).toEqual([1, 1600]);
    const expected = tone(200, 16000, 0.1, 0.4);
    output!.data.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(0.01));
  });

  it('batches clips of equal length; refuses a request whose clips differ in length', async () => {
    const ok = await sendAudio([wavFile([tone(300, 16000, 0.05)], 16000), wavFile([tone(500, 16000, 0.05)], 16000)]);
    expect(ok.status).toBe(200);
    expect(ok.json.outputs![0]!.shape).toEqual([2, 800]);
    const uneven = await sendAudio([wavFile([tone(300, 16000, 0.05)], 16000), wavFile([tone(300, 16000, 0.06)], 16000)]);
    expect(uneven).toMatchObject({ status: 400, json: { code: 'invalid_media' } });
  });

  it('413 audio_too_long for a request carrying more than MAX_AUDIO_SECONDS (600 s by default), all clips together', async () => {
    const fiveMinutes = wavFile([new Float32Array(300_000)], 1000);
    const answer = await sendAudio([fiveMinutes, fiveMinutes, wavFile([new Float32Array(2000)], 1000)]);
    expect(answer.status).toBe(413);
    expect(answer.json.code).toBe('audio_too_long');
    expect(answer.json.error).toMatch(/602\.0 s of audio; at most 600 s/);
  });

  it.each([
    ['no samples', () => wavFile([new Float32Array(0)], 16000), /has no samples/],
    ['an empty file', () => new Uint8Array(0), /is empty/],
    ['not a WAV', () => new TextEncoder().encode('definitely not RIFF audio'), /not a WAV file/],
    ['a truncated data chunk', () => wavFile([tone(440, 16000, 0.1)], 16000).subarray(0, 300), /truncated/],
    ['three channels', () => wavFile([tone(1, 16000, 0.01), tone(1, 16000, 0.01), tone(1, 16000, 0.01)], 16000), /3 channels/],
    [
      '8-bit PCM',
      () => {
        const file = wavFile([tone(1, 8000, 0.01)], 8000);
        new DataView(file.buffer).setUint16(34, 8, true);
        return file;
      },
      /8-bit PCM/,
    ],
  ])('400 invalid_media for %s', async (_name, make, message) => {
    const answer = await sendAudio([make()]);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('invalid_media');
    expect(answer.json.error).toMatch(message);
  });
});
