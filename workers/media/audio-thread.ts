import { serveJobs } from '../threads/serve-jobs.js';
import { decodeClips, type ClipsJob } from './decode-clips.js';

/** A media thread: decodes and resamples WAV files, handing the samples back by transfer. */
serveJobs((job: ClipsJob) => {
  const decoded = decodeClips(job);
  return { value: decoded, transfer: [...new Set(decoded.clips.map((clip) => clip.buffer as ArrayBuffer))] };
});
