import { percentile, round } from '../stats.js';

/** Live requests sent at a steady rate (open loop), so their latency is not shaped by the server's pace. */
export interface LiveTraffic {
  readonly url: string;
  readonly body: Buffer | string;
  readonly contentType: string;
  readonly perSecond: number;
}

export interface LiveResult {
  readonly requests: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** The gateway's own account (X-Queue-Ms, X-Batch-Size): less shaken by the machine's load than the client's clock. */
  readonly queueP95Ms: number;
  /** Share of live requests that ran in a batch with other rows (explanation rows, beside explanations). */
  readonly sharedBatchShare: number;
}

/** Sends `perSecond` requests a second for `seconds`, each timed from its send to its last byte. */
export async function runLive(traffic: LiveTraffic, seconds: number): Promise<LiveResult> {
  const latencies: number[] = [];
  const queues: number[] = [];
  let shared = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const interval = 1000 / traffic.perSecond;
  for (let i = 0; performance.now() - start < seconds * 1000; i += 1) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    pending.push(
      fetch(traffic.url, {
        method: 'POST',
        headers: { 'content-type': traffic.contentType },
        body: typeof traffic.body === 'string' ? traffic.body : new Uint8Array(traffic.body),
      })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status !== 200) {
            failed += 1;
            return;
          }
          latencies.push(performance.now() - sent);
          queues.push(Number(response.headers.get('x-queue-ms') ?? 0));
          if (Number(response.headers.get('x-batch-size') ?? 1) > 1) shared += 1;
        })
        .catch(() => {
          failed += 1;
        }),
    );
  }
  await Promise.all(pending);
  return {
    requests: latencies.length + failed,
    failed,
    p50Ms: round(percentile(latencies, 50), 2),
    p95Ms: round(percentile(latencies, 95), 2),
    queueP95Ms: round(percentile(queues, 95), 2),
    sharedBatchShare: round(latencies.length > 0 ? shared / latencies.length : 0, 3),
  };
}

/** Explanations back to back on `lanes` lanes until `stop` says so: how many finished, and their rows. */
export async function runExplainers(
  url: string,
  body: Buffer | string,
  contentType: string,
  lanes: number,
  stop: () => boolean,
): Promise<{ explanations: number; rows: number; failed: number }> {
  let explanations = 0;
  let rows = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (!stop()) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
      const json = (await response.json()) as { explanation?: { rows_used: number } };
      if (response.status === 200 && json.explanation) {
        explanations += 1;
        rows += json.explanation.rows_used;
      } else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { explanations, rows, failed };
}
