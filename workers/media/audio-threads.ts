import { availableParallelism } from 'node:os';
import { copyInSlices } from '../threads/copy-in-slices.js';
import { ThreadPool } from '../threads/thread-pool.js';
import type { ClipsJob, DecodedClips } from './decode-clips.js';

/** Default for MAX_AUDIO_SECONDS: ten minutes, 38 MB of samples at 16 kHz. */
export const DEFAULT_MAX_AUDIO_SECONDS = 600;

let pool: ThreadPool | undefined;

/**
 * Decodes and resamples WAV files on the media threads, off the event loop (a 16 MiB WAV
 * at 1 kHz takes over a second to resample to 16 kHz). Each file is copied once (a slice
 * per turn of the event loop), to a buffer of its own that moves to the thread: the files
 * are views into request bodies that other code still reads, and cloning a view would copy
 * its whole body. The samples come back by transfer.
 */
export async function decodeClipsOffThread(job: ClipsJob): Promise<DecodedClips> {
  pool ??= new ThreadPool({ from: import.meta.url, module: 'audio-thread', name: 'media', size: Math.min(2, availableParallelism()) });
  const files: Uint8Array[] = [];
  for (const file of job.files) files.push(await copyInSlices(file));
  return pool.run<DecodedClips>(
    { ...job, files },
    files.map((file) => file.buffer as ArrayBuffer),
  );
}
