import { z } from 'zod';
import { decodeClipsOffThread } from '../../../../workers/media/audio-threads.js';
import { TransformInputError, type Transform } from '../transform.js';
import { wavLength } from './wav-length.js';
import { windowProbabilities } from './window-probabilities.js';

/** Silero v4 at 16 kHz takes windows of 512, 1024 or 1536 samples (32, 64 or 96 ms). */
const SAMPLE_RATE = 16_000;

const options = z.strictObject({
  model: z.string().min(1).default('silero-vad'),
  version: z
    .string()
    .regex(/^[1-9][0-9]*$/)
    .optional(),
  window_samples: z.union([z.literal(512), z.literal(1024), z.literal(1536)]).default(512),
});

/**
 * WAV bytes -> speech probability per window (and the clip's duration), through a recurrent
 * VAD model. The clip is decoded, resampled and centred (its DC offset removed) on a media
 * thread; longer than `maxSeconds`: 413.
 */
export function speechProbabilities(maxSeconds: number): Transform {
  return {
    name: 'vad.speech-probabilities',
    inputs: ['audio'],
    outputs: ['probabilities', 'duration_s'],
    checkOptions: (raw) => void options.parse(raw),
    modelsCalled: (raw) => [options.parse(raw).model],
    estimateModelCalls(inputs, raw) {
      const chosen = options.parse(raw);
      const audio = inputs['audio'];
      const length = audio instanceof Uint8Array ? wavLength(audio) : undefined;
      if (!length) return [];
      // One request per window of the clip resampled to 16 kHz, as resample() counts its samples;
      // a clip over maxSeconds is refused (413) before any request, so it reserves no more than that.
      const frames = Math.min(length.frames, maxSeconds * length.sampleRate);
      const samples = length.sampleRate === SAMPLE_RATE ? frames : Math.max(1, Math.round((frames * SAMPLE_RATE) / length.sampleRate));
      return [
        { model: chosen.model, ...(chosen.version ? { version: chosen.version } : {}), calls: Math.ceil(samples / chosen.window_samples) },
      ];
    },
    async run(inputs, raw, context) {
      const chosen = options.parse(raw);
      const audio = inputs['audio'];
      if (!(audio instanceof Uint8Array)) throw new TransformInputError('audio must be WAV bytes');
      const { clips, durations } = await decodeClipsOffThread({
        files: [audio],
        where: ['the audio'],
        sampleRate: SAMPLE_RATE,
        maxSeconds,
        // A DC offset of 0.5 hid quiet speech from Silero entirely, and 0.3 broke loud speech into fragments.
        removeDcOffset: true,
      });
      const samples = clips[0]!;
      const probabilities = await windowProbabilities(
        samples,
        {
          model: chosen.model,
          ...(chosen.version ? { version: chosen.version } : {}),
          sampleRate: SAMPLE_RATE,
          windowSamples: chosen.window_samples,
        },
        context,
      );
      return { probabilities, duration_s: Math.round(durations[0]! * 1000) / 1000 };
    },
  };
}
