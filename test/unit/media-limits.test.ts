import { describe, expect, it } from 'vitest';
import { DecodedMemory } from '../../gateway/pipelines/transforms/decoded-memory.js';
import { mapAtMost, mapTakingTurns } from '../../gateway/pipelines/transforms/take-turns.js';
import { wavLength } from '../../gateway/pipelines/transforms/vad/wav-length.js';
import { parseTaskJson } from '../../gateway/tasks/task-json.js';
import { decodeWav } from '../../workers/media/decode-wav.js';
import { tone, wavFile } from '../helpers/wav.js';

const later = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('decoded image memory', () => {
  it('lets decodes in while they fit, then one at a time in arrival order as memory comes back', async () => {
    const memory = new DecodedMemory(100);
    const deadline = Date.now() + 10_000;
    const first = await memory.reserve(60, deadline);
    const order: string[] = [];
    const second = memory.reserve(60, deadline).then((release) => (order.push('second'), release));
    // Small enough to fit now, but it queues behind the second: no overtaking.
    const third = memory.reserve(10, deadline).then((release) => (order.push('third'), release));
    await later();
    expect(order).toEqual([]);
    expect(memory.waiting).toBe(2);
    first();
    first(); // given back once only
    const releases = await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(memory.heldBytes).toBe(70);
    for (const release of releases) release();
    expect(memory.heldBytes).toBe(0);
  });

  it('runs an image larger than the whole budget alone', async () => {
    const memory = new DecodedMemory(100);
    const deadline = Date.now() + 10_000;
    const huge = await memory.reserve(500, deadline);
    let small = false;
    const next = memory.reserve(1, deadline).then((release) => ((small = true), release));
    await later();
    expect(small).toBe(false);
    huge();
    (await next)();
    expect(small).toBe(true);
  });

  it('gives up at the deadline or when the run stops, and lets those behind through', async () => {
    const memory = new DecodedMemory(100);
    const held = await memory.reserve(100, Date.now() + 10_000);
    await expect(memory.reserve(50, Date.now() + 20)).rejects.toMatchObject({ code: 'request_timeout' });
    const stop = new AbortController();
    const stopped = memory.reserve(50, Date.now() + 10_000, stop.signal);
    const behind = memory.reserve(50, Date.now() + 10_000);
    stop.abort();
    await expect(stopped).rejects.toMatchObject({ code: 'task_cancelled' });
    held();
    (await behind)();
    expect(memory.heldBytes).toBe(0);
    expect(memory.waiting).toBe(0);
  });
});

describe('work that takes turns with the event loop', () => {
  it('lets a timer run while a long list is processed, and keeps the order', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const out = await mapTakingTurns(
      Array.from({ length: 40 }, (_, i) => i),
      (item) => (spin(1), item * 2),
    );
    clearInterval(timer);
    expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    // 40 ms of work in one go would have let no timer fire.
    expect(ticks).toBeGreaterThan(2);
  });

  it('runs at most `limit` at once, results in order', async () => {
    let running = 0;
    let most = 0;
    const out = await mapAtMost([5, 1, 4, 2, 3, 0], 2, async (ms) => {
      running += 1;
      most = Math.max(most, running);
      await later(ms);
      running -= 1;
      return ms * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(2);
    expect(await mapAtMost([], 4, async () => 1)).toEqual([]);
  });
});

describe('WAV files as real tools write them', () => {
  it('reads a streamed file (sizes a pipe writer leaves unset) to its end', () => {
    const clip = tone(440, 16_000, 0.25);
    for (const placeholder of [0xffffffff, 0]) {
      const streamed = wavFile([clip], 16_000).slice();
      const view = new DataView(streamed.buffer);
      view.setUint32(4, 0xffffffff, true);
      view.setUint32(40, placeholder, true);
      const decoded = decodeWav(streamed, 'the audio');
      expect(decoded.samples.length).toBe(clip.length);
      expect(decoded.samples).toEqual(decodeWav(wavFile([clip], 16_000), 'the audio').samples);
      expect(wavLength(streamed)).toEqual({ frames: clip.length, sampleRate: 16_000 });
    }
    // A size beyond the bytes present that is no placeholder is a cut-off upload.
    const cut = wavFile([clip], 16_000).subarray(0, 1000);
    expect(() => decodeWav(cut, 'the audio')).toThrow(/truncated/);
    expect(wavLength(cut)).toBeUndefined();
  });

  it('refuses float samples that are not finite numbers, and names 64-bit float as such', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const samples = tone(440, 16_000, 0.1);
      samples[500] = bad;
      expect(() => decodeWav(wavFile([samples], 16_000, 'float32'), 'the audio')).toThrow(
        expect.objectContaining({ code: 'invalid_media', message: expect.stringMatching(/not finite/) }),
      );
    }
    const double = wavFile([tone(440, 16_000, 0.1)], 16_000, 'float32').slice();
    new DataView(double.buffer).setUint16(34, 64, true);
    expect(() => decodeWav(double, 'the audio')).toThrow(/64-bit float: send 16-bit PCM or 32-bit float/);
  });

  it('names telephony codecs in the refusal: µ-law and A-law, not their format numbers alone', () => {
    // An 8-bit companded file as telephony systems write it: format code 7 (µ-law) or 6 (A-law).
    for (const [code, name] of [
      [7, 'µ-law'],
      [6, 'A-law'],
      [0x55, 'MP3'],
    ] as const) {
      const file = wavFile([tone(440, 8000, 0.1)], 8000).slice();
      const view = new DataView(file.buffer);
      view.setUint16(20, code, true);
      view.setUint16(34, 8, true);
      expect(() => decodeWav(file, 'the audio')).toThrow(
        expect.objectContaining({
          code: 'invalid_media',
          message: `the audio: is ${name} (WAV format ${code}): send 16-bit PCM or 32-bit float`,
        }),
      );
    }
  });

  it('averages stereo, unless one channel cancels the other: then it takes the louder one', () => {
    const left = tone(440, 16_000, 0.1, 0.5);
    const other = tone(660, 16_000, 0.1, 0.3);
    const averaged = decodeWav(wavFile([left, other], 16_000, 'float32'), 'the audio').samples;
    expect(averaged[100]).toBeCloseTo((left[100]! + other[100]!) / 2, 6);
    // Inverted, and a little quieter, as from a mis-wired balanced microphone.
    const inverted = decodeWav(wavFile([left, left.map((sample) => -0.8 * sample)], 16_000, 'float32'), 'the audio').samples;
    expect(inverted).toEqual(left);
    const louderRight = decodeWav(wavFile([left.map((sample) => -0.8 * sample + 0.3), left], 16_000, 'float32'), 'the audio').samples;
    expect(louderRight).toEqual(left);
  });
});

describe('media in JSON task bodies', () => {
  it('takes a data URI (what a browser FileReader gives) as its base64 part', () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const body = (image: string) => new TextEncoder().encode(JSON.stringify({ inputs: { image } }));
    const read = (image: string) =>
      (parseTaskJson({ body: body(image), pipeline: 'ocr', type: 'sync', media: ['image'] }).parsed.inputs as Record<string, Buffer>).image;
    expect(read(bytes.toString('base64'))).toEqual(bytes);
    expect(read(`data:image/png;base64,${bytes.toString('base64')}`)).toEqual(bytes);
    expect(read(`data:audio/wav;codecs=1;base64,${bytes.toString('base64')}`)).toEqual(bytes);
  });
});
