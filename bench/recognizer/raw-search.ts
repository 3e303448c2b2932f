import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { round } from '../stats.js';

export interface RawLayout {
  readonly sessions: number;
  readonly threads: number;
  readonly batch: number;
}

export interface RawResult extends RawLayout {
  readonly rowsPerSecond: number;
}

/** Every sessions × threads layout that fits the cores, at every batch size: the exhaustive raw search. */
export function rawLayouts(cores: number, batches: readonly number[]): RawLayout[] {
  const layouts: RawLayout[] = [];
  for (let sessions = 1; sessions <= cores; sessions += 1) {
    for (let threads = 1; sessions * threads <= cores; threads += 1) {
      for (const batch of batches) layouts.push({ sessions, threads, batch });
    }
  }
  return layouts;
}

/** Rows per second of `sessions` raw sessions, each on its own thread running batches back to back. */
export async function measureRaw(modelPath: string, width: number, layout: RawLayout, seconds: number): Promise<RawResult> {
  const script = new URL('./raw-thread.js', import.meta.url);
  const workers = Array.from(
    { length: layout.sessions },
    () => new Worker(script, { workerData: { modelPath, threads: layout.threads, batch: layout.batch, width } }),
  );
  try {
    await Promise.all(workers.map((worker) => once(worker, 'message')));
    const done = workers.map((worker) => once(worker, 'message') as Promise<[{ rows: number; seconds: number }]>);
    for (const worker of workers) worker.postMessage('start');
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    for (const worker of workers) worker.postMessage('stop');
    const rate = (await Promise.all(done)).reduce((sum, [{ rows, seconds }]) => sum + (seconds > 0 ? rows / seconds : 0), 0);
    return { ...layout, rowsPerSecond: round(rate, 1) };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
