import { ServingError } from '../protocol/errors.js';
import { readWavLayout, decodeWav, removeDcOffset, resample } from './decode-wav.js';

export interface ClipsJob {
  /** WAV files. */
  readonly files: readonly Uint8Array[];
  /** Where each file came from, for error messages. */
  readonly where: readonly string[];
  /** The rate to resample to. */
  readonly sampleRate: number;
  /** The most seconds of audio one request may carry, all its clips together. */
  readonly maxSeconds: number;
  /** Subtract each clip's mean: for models trained on centred audio (a VAD), not for whatever a caller's model takes. */
  readonly removeDcOffset?: boolean;
}

export interface DecodedClips {
  /** Mono samples at `sampleRate`, one array per file. */
  readonly clips: Float32Array[];
  /** Each file's own duration, in seconds. */
  readonly durations: number[];
}

/**
 * WAV files to mono samples at one rate. The headers are read first, so a request
 * carrying more than `maxSeconds` of audio is refused (413 `audio_too_long`) before
 * anything is decoded: what a request may cost in memory is seconds x rate x 4 bytes.
 */
export function decodeClips(job: ClipsJob): DecodedClips {
  const layouts = job.files.map((file, index) => readWavLayout(file, job.where[index] ?? `audio ${index}`));
  const durations = layouts.map((layout) => layout.frames / layout.sampleRate);
  const total = durations.reduce((sum, seconds) => sum + seconds, 0);
  if (total > job.maxSeconds) {
    const message = `the request carries ${total.toFixed(1)} s of audio; at most ${job.maxSeconds} s are accepted (MAX_AUDIO_SECONDS)`;
    throw new ServingError('audio_too_long', message);
  }
  const clips = job.files.map((file, index) => {
    const decoded = decodeWav(file, job.where[index] ?? `audio ${index}`);
    const samples = resample(decoded.samples, decoded.sampleRate, job.sampleRate);
    return job.removeDcOffset ? removeDcOffset(samples) : samples;
  });
  return { clips, durations };
}
