import { serveJobs } from '../../workers/threads/serve-jobs.js';
import { isObject, parseTaskJson, type TaskJsonJob } from './task-json.js';

/** A JSON thread for task bodies: decoded media goes back by transfer, in buffers of its own. */
serveJobs((job: TaskJsonJob) => {
  const result = parseTaskJson(job);
  const transfer: ArrayBuffer[] = [];
  const inputs = result.parsed.inputs;
  if (isObject(inputs)) {
    for (const name of job.media) {
      const value = inputs[name];
      if (!(value instanceof Uint8Array)) continue;
      const whole =
        value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && !transfer.includes(value.buffer as ArrayBuffer);
      const owned = whole ? value : new Uint8Array(value);
      inputs[name] = owned;
      transfer.push(owned.buffer as ArrayBuffer);
    }
  }
  return { value: result, transfer };
});
