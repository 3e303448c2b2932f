import { get } from './gateway.js';
import { metricValue, scrape } from './metrics.js';
import { waitFor } from './processes.js';

/**
 * A grey text line for the recognizer ([1, 3, 48, width]) in the binary extension (JSON this
 * size takes longer to parse than to run); wide lines run long enough to queue others behind them.
 */
export function textLine(width: number): { headers: Record<string, string>; body: Buffer } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], parameters: { binary_data_size: 3 * 48 * width * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const data = Buffer.from(new Float32Array(3 * 48 * width).fill(0.5).buffer);
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, data]),
  };
}

/** POSTs a line; resolves with the status. */
export async function postLine(url: string, width: number): Promise<number> {
  const response = await fetch(url, { method: 'POST', ...textLine(width) });
  await response.arrayBuffer();
  return response.status;
}

/** A line POSTed by a caller that leaves on `abort()`: the connection closes before the answer. */
export function abandonable(url: string, width: number): { abort(): void; settled: Promise<number | 'aborted'> } {
  const controller = new AbortController();
  const settled = fetch(url, { method: 'POST', ...textLine(width), signal: controller.signal })
    .then(async (response) => {
      await response.arrayBuffer();
      return response.status;
    })
    .catch(() => 'aborted' as const);
  return { abort: () => controller.abort(), settled };
}

/** Rows the version has run (the statistics endpoint's inference_count), once statistics have caught up. */
export async function rowsRun(baseUrl: string, model: string): Promise<number> {
  const stats = (await get(`${baseUrl}/v2/models/${model}/stats`)).json.model_stats as { inference_count: number }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
}

export async function cancelledCount(metricsUrl: string, stage: string): Promise<number> {
  return metricValue(await scrape(metricsUrl), 'switchyard_cancelled_requests_total', { stage });
}

export async function pending(metricsUrl: string, model: string): Promise<number> {
  return metricValue(await scrape(metricsUrl), 'switchyard_pending_requests', { model });
}

export async function waitForPending(metricsUrl: string, model: string, atLeast: number): Promise<void> {
  await waitFor(async () => (await pending(metricsUrl, model)) >= atLeast, 20_000, `${atLeast} requests queued`);
}
