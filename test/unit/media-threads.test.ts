import { afterAll, describe, expect, it } from 'vitest';
import { parseInferRequestOffThread, JSON_THREAD_MIN_BYTES } from '../../gateway/protocol/parse-infer-off-thread.js';
import { parseInferRequest } from '../../gateway/protocol/parse-infer-request.js';
import { parseTaskJson } from '../../gateway/tasks/task-json.js';
import { parseTaskJsonOffThread, TASK_JSON_THREAD_MIN_BYTES } from '../../gateway/tasks/task-json-off-thread.js';
import { decodeClipsOffThread } from '../../workers/media/audio-threads.js';
import { decodeClips } from '../../workers/media/decode-clips.js';
import { isServingError } from '../../workers/protocol/errors.js';
import { ThreadPool } from '../../workers/threads/thread-pool.js';
import { tone, wavFile } from '../helpers/wav.js';

/** Settles `work` and notes whether the event loop turned (a setImmediate ran) before it did. */
async function loopTurnedFirst(work: Promise<unknown>): Promise<string[]> {
  const order: string[] = [];
  const done = work.then(
    () => order.push('work done'),
    () => order.push('work failed'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  order.push('loop turned');
  await done;
  return order;
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'resolved';
  } catch (error) {
    return isServingError(error) ? error.code : `plain error: ${(error as Error).message}`;
  }
}

describe('media threads', () => {
  it('decode and resample exactly as the inline decoder does', async () => {
    const file = wavFile([tone(200, 48_000, 0.5, 0.8), tone(300, 48_000, 0.5, 0.2)], 48_000, 'float32');
    const job = { files: [file], where: ['clip'], sampleRate: 16_000, maxSeconds: 10 };
    const threaded = await decodeClipsOffThread(job);
    expect(threaded.durations).toEqual([0.5]);
    expect(threaded.clips[0]).toBeInstanceOf(Float32Array);
    expect(Array.from(threaded.clips[0]!)).toEqual(Array.from(decodeClips(job).clips[0]!));
    // The caller's bytes are copied, not moved away.
    expect(file.byteLength).toBeGreaterThan(0);
  });

  it('keep the event loop turning while a long clip is resampled', async () => {
    // 600 s at 1 kHz: 1.2 MB of WAV that becomes 9.6 million samples at 16 kHz.
    const file = wavFile([new Float32Array(600_000)], 1000);
    const decoding = decodeClipsOffThread({ files: [file], where: ['long clip'], sampleRate: 16_000, maxSeconds: 600 });
    expect(await loopTurnedFirst(decoding)).toEqual(['loop turned', 'work done']);
    expect((await decoding).clips[0]!.length).toBe(9_600_000);
  });

  it('refuse more audio than maxSeconds per request, all clips together, before decoding', async () => {
    const clip = wavFile([new Float32Array(3000)], 1000);
    expect(await codeOf(decodeClipsOffThread({ files: [clip], where: ['a'], sampleRate: 16_000, maxSeconds: 5 }))).toBe('resolved');
    expect(await codeOf(decodeClipsOffThread({ files: [clip, clip], where: ['a', 'b'], sampleRate: 16_000, maxSeconds: 5 }))).toBe(
      'audio_too_long',
    );
    const noSamples = wavFile([new Float32Array(0)], 16_000);
    expect(await codeOf(decodeClipsOffThread({ files: [noSamples], where: ['empty'], sampleRate: 16_000, maxSeconds: 5 }))).toBe(
      'invalid_media',
    );
  });

  it('parse large OIP JSON on a thread into the same tensors, with the same error codes', async () => {
    const count = 300_000;
    const data = Array.from({ length: count }, (_, i) => (i % 97) / 8);
    const header = Buffer.from(
      JSON.stringify({ id: 'big', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, count], data }], parameters: { priority: 2 } }),
    );
    expect(header.length).toBeGreaterThan(JSON_THREAD_MIN_BYTES);
    const empty = Buffer.alloc(0);
    const threaded = parseInferRequestOffThread(header, empty);
    expect(await loopTurnedFirst(threaded)).toEqual(['loop turned', 'work done']);
    const inline = parseInferRequest(header, empty);
    const result = await threaded;
    expect(result.inputs[0]!.data).toBeInstanceOf(Float32Array);
    expect(result).toEqual(inline);

    const truncated = header.subarray(0, header.length - 3);
    expect(await codeOf(parseInferRequestOffThread(truncated, empty))).toBe('invalid_json');
    const short = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, count + 1], data }] }));
    expect(await codeOf(parseInferRequestOffThread(short, empty))).toBe('shape_data_mismatch');
  });
});

describe('task JSON thread', () => {
  it('reads a large task body on a thread: the same values, media decoded to Buffers, the same fingerprint', async () => {
    const audio = Buffer.alloc(1024 * 1024, 0x5a);
    const body = Buffer.from(JSON.stringify({ inputs: { audio: audio.toString('base64'), note: { list: [1, 2, 3] } }, timeout_ms: 5000 }));
    expect(body.length).toBeGreaterThan(TASK_JSON_THREAD_MIN_BYTES);
    const job = { pipeline: 'voice-activity', type: 'application/json', body, media: ['audio'] };
    const threaded = parseTaskJsonOffThread(job);
    expect(await loopTurnedFirst(threaded)).toEqual(['loop turned', 'work done']);
    const result = await threaded;
    const inputs = result.parsed.inputs as Record<string, unknown>;
    expect(Buffer.isBuffer(inputs.audio)).toBe(true);
    expect((inputs.audio as Buffer).equals(audio)).toBe(true);
    expect(result).toEqual(parseTaskJson(job));
    // The request's own body is untouched (it was copied, not moved).
    expect(body.length).toBeGreaterThan(TASK_JSON_THREAD_MIN_BYTES);
    expect(await codeOf(parseTaskJsonOffThread({ ...job, body: body.subarray(0, body.length - 1) }))).toBe('invalid_json');
  });
});

describe('thread pool', () => {
  const pool = new ThreadPool({ from: new URL('../helpers/x.ts', import.meta.url).href, module: 'crash-thread', name: 'test', size: 1 });
  afterAll(() => pool.close());

  it('fails the jobs of a thread that dies, and serves the next job on a new thread', async () => {
    expect(await pool.run({ echo: 'before' })).toBe('before');
    expect(await codeOf(pool.run({ exit: true }))).toBe('plain error: test thread failed: exited with code 3');
    expect(await pool.run({ echo: 'after' })).toBe('after');
  });
});
