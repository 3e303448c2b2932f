import { describe, expect, it } from 'vitest';
import { estimateTaskCostUsd, MAP_ITEMS_RESERVED } from '../../gateway/pipelines/estimate-task-cost.js';
import { pipelineConfigSchema } from '../../gateway/pipelines/pipeline-config.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';
import { wavLength } from '../../gateway/pipelines/transforms/vad/wav-length.js';
import { tone, wavFile } from '../helpers/wav.js';

/** Each model's reserve price, in whole units so the sums are exact. */
const PRICES: Record<string, number> = { 'silero-vad': 1, classifier: 10, recognizer: 100 };
const price = (name: string): number => PRICES[name] ?? 0;
const transforms = builtInTransforms({ maxAudioSeconds: 5 });

const voiceActivity = pipelineConfigSchema.parse({
  name: 'voice-activity',
  inputs: { audio: { kind: 'audio' } },
  steps: [
    {
      id: 'p',
      transform: 'vad.speech-probabilities',
      inputs: { audio: 'audio' },
      outputs: { probabilities: 'probabilities', duration_s: 'duration_s' },
    },
  ],
  outputs: { probabilities: 'probabilities' },
});

describe('a task reserves its model calls up front', () => {
  it('one VAD call per 512-sample window of the clip at 16 kHz, read from the WAV header', () => {
    expect(estimateTaskCostUsd(voiceActivity, { audio: wavFile([tone(440, 16_000, 2)], 16_000) }, transforms, price)).toBe(63);
    // 1 s of 44.1 kHz stereo resamples to 16,000 samples: 32 windows (31.25 rounded up).
    const stereo = tone(440, 44_100, 1);
    expect(estimateTaskCostUsd(voiceActivity, { audio: wavFile([stereo, stereo], 44_100) }, transforms, price)).toBe(32);
    // Longer than MAX_AUDIO_SECONDS (5 s here): refused before any call, so 5 s at most are reserved.
    expect(estimateTaskCostUsd(voiceActivity, { audio: wavFile([tone(440, 16_000, 12)], 16_000) }, transforms, price)).toBe(157);
    // Not a WAV: nothing to count (the task fails decoding it, having called nothing).
    expect(estimateTaskCostUsd(voiceActivity, { audio: new Uint8Array([1, 2, 3]) }, transforms, price)).toBe(0);
  });

  it('a model step once, a map step per item of an input list, or MAP_ITEMS_RESERVED items of a list made by a step', () => {
    const pipeline = pipelineConfigSchema.parse({
      name: 'p',
      inputs: { x: { kind: 'json' }, lines: { kind: 'json' } },
      steps: [
        { id: 'classify', model: 'classifier', inputs: { x: 'x' }, outputs: { y: 'y' } },
        { id: 'each', model: 'classifier', map: true, inputs: { x: 'lines' }, outputs: { y: 'scores' } },
        { id: 'made', transform: 'tensor-from-json', inputs: { value: 'y' }, outputs: { tensor: 'made_lines' } },
        { id: 'read', model: 'recognizer', map: true, inputs: { x: 'made_lines' }, outputs: { y: 'texts' } },
      ],
      outputs: { scores: 'scores', texts: 'texts' },
    });
    expect(MAP_ITEMS_RESERVED).toBe(8);
    expect(estimateTaskCostUsd(pipeline, { x: [1], lines: [[1], [2], [3], [4], [5]] }, transforms, price)).toBe(10 + 5 * 10 + 8 * 100);
  });

  it('reads frames and rate from the chunk headers, past other chunks, and refuses what is not a WAV', () => {
    const wav = wavFile([tone(440, 8_000, 0.5), tone(440, 8_000, 0.5)], 8_000, 'float32');
    expect(wavLength(wav)).toEqual({ frames: 4_000, sampleRate: 8_000 });
    // A LIST chunk between fmt and data is skipped.
    const list = new Uint8Array([...new TextEncoder().encode('LIST'), 4, 0, 0, 0, 1, 2, 3, 4]);
    const withList = new Uint8Array([...wav.subarray(0, 36), ...list, ...wav.subarray(36)]);
    expect(wavLength(withList)).toEqual({ frames: 4_000, sampleRate: 8_000 });
    expect(wavLength(new TextEncoder().encode('RIFF\0\0\0\0WAVEdata'))).toBeUndefined();
    expect(wavLength(new Uint8Array(0))).toBeUndefined();
  });
});
