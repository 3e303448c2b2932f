import { z } from 'zod';
import { TransformInputError, type Transform } from '../transform.js';
import { speechSegments } from './speech-segments.js';
import type { WindowProbabilities } from './window-probabilities.js';

const options = z
  .strictObject({
    start_threshold: z.number().gt(0).lt(1).default(0.5),
    end_threshold: z.number().gt(0).lt(1).default(0.35),
    min_silence_ms: z.number().min(0).max(10_000).default(100),
    min_speech_ms: z.number().min(0).max(60_000).default(250),
  })
  .refine((chosen) => chosen.end_threshold <= chosen.start_threshold, 'end_threshold must not exceed start_threshold');

function asWindowProbabilities(value: unknown): WindowProbabilities {
  const candidate = value as WindowProbabilities;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.window_s !== 'number' || !Array.isArray(candidate.values)) {
    throw new TransformInputError('probabilities must come from vad.speech-probabilities');
  }
  return candidate;
}

/** Per-window speech probabilities -> speech segments (start, end, confidence). */
export function speechSegmentsTransform(): Transform {
  return {
    name: 'vad.speech-segments',
    inputs: ['probabilities', 'duration_s'],
    outputs: ['segments'],
    checkOptions: (raw) => void options.parse(raw),
    async run(inputs, raw) {
      const chosen = options.parse(raw);
      const probabilities = asWindowProbabilities(inputs['probabilities']);
      const duration = inputs['duration_s'];
      if (typeof duration !== 'number') throw new TransformInputError('duration_s must be a number');
      const segments = speechSegments(probabilities.values, probabilities.window_s, duration, {
        startThreshold: chosen.start_threshold,
        endThreshold: chosen.end_threshold,
        minSilenceS: chosen.min_silence_ms / 1000,
        minSpeechS: chosen.min_speech_ms / 1000,
      });
      return { segments };
    },
  };
}
