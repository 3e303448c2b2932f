import { serveJobs } from '../../workers/threads/serve-jobs.js';

/** A pool thread for tests: echoes its payload, or exits mid-job when told to (as a thread killed by OOM would). */
serveJobs((payload: { exit?: boolean; echo?: unknown }) => {
  if (payload.exit) process.exit(3);
  return { value: payload.echo };
});
