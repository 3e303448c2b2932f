import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { round } from '../stats.js';
import { leanLoad } from './lean-client.js';

export interface BinaryLoadResult {
  readonly rowsPerSecond: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU the load generator (this process) spent per row answered. */
  readonly clientCpuMsPerRow: number;
}

/** One [1, 3, 48, width] FP32 line image in the binary tensor extension, as tritonclient sends it. */
export function recognizerBody(width: number): { body: Buffer; headers: Record<string, string> } {
  const pixels = new Float32Array(3 * 48 * width);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  // Outputs in binary too, as tritonclient asks: the answer is [1, 40, 6625] floats, 2.5 MB as JSON text.
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], parameters: { binary_data_size: pixels.byteLength } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(pixels.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** Which load generator sends the requests: the lean one (bytes counted, as tritonclient reads them) or autocannon. */
export type LoadClient = 'lean' | 'autocannon';

const OUTPUT_BYTES = 40 * 6625 * 4;

/** Every 200 answer carries the binary extension's header length and the whole output tensor after it. */
function checkAnswer(status: number, headers: ReadonlyMap<string, string>): string | undefined {
  if (status !== 200) return undefined; // counted as non-2xx, as autocannon counts them
  const headerLength = Number(headers.get('inference-header-content-length'));
  const length = Number(headers.get('content-length'));
  return headerLength > 0 && length === headerLength + OUTPUT_BYTES ? undefined : `content-length ${length}, header ${headerLength}`;
}

/**
 * Closed-loop load at `connections`, one row per request: rows per second answered 200, and the CPU
 * this process (the client) spent per row.
 */
export async function binaryLoad(
  url: string,
  width: number,
  connections: number,
  seconds: number,
  client: LoadClient = 'lean',
): Promise<BinaryLoadResult> {
  const { body, headers } = recognizerBody(width);
  const path = '/v2/models/text-recognizer/versions/1/infer';
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  let answered: number;
  let summary: Omit<BinaryLoadResult, 'rowsPerSecond' | 'clientCpuMsPerRow'>;
  if (client === 'lean') {
    const result = await leanLoad({ url, path, headers, body, connections, seconds, check: checkAnswer });
    const sorted = result.latenciesMs.sort((a, b) => a - b);
    const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0, 1);
    answered = result.answered - result.non2xx;
    summary = { non2xx: result.non2xx, errors: 0, p50Ms: at(0.5), p99Ms: at(0.99) };
  } else {
    const result = await autocannon({ url: `${url}${path}`, method: 'POST', connections, duration: seconds, headers, body });
    answered = result['2xx'];
    summary = { non2xx: result.non2xx, errors: result.errors, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    ...summary,
    rowsPerSecond: round(answered / elapsed, 1),
    clientCpuMsPerRow: round((cpu.user + cpu.system) / 1000 / Math.max(1, answered), 2),
  };
}
