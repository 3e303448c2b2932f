import { readWavLayout } from '../../../../workers/media/decode-wav.js';

/**
 * A WAV file's frame count and rate from its chunk headers alone, without decoding its
 * samples: enough to know how many windows a clip has before it runs. Undefined for a file
 * decodeWav refuses (its error is the task's, later).
 */
export function wavLength(bytes: Uint8Array): { frames: number; sampleRate: number } | undefined {
  try {
    const { frames, sampleRate } = readWavLayout(bytes, 'the audio');
    return { frames, sampleRate };
  } catch {
    return undefined;
  }
}
