import autocannon from 'autocannon';
import { round } from '../stats.js';

export interface BinaryLoadResult {
  readonly rowsPerSecond: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
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

/** Closed-loop autocannon load at `connections`, one row per request: rows per second answered 200. */
export async function binaryLoad(url: string, width: number, connections: number, seconds: number): Promise<BinaryLoadResult> {
  const { body, headers } = recognizerBody(width);
  const result = await autocannon({
    url: `${url}/v2/models/text-recognizer/versions/1/infer`,
    method: 'POST',
    connections,
    duration: seconds,
    headers,
    body,
  });
  return {
    rowsPerSecond: round(result['2xx'] / seconds, 1),
    non2xx: result.non2xx,
    errors: result.errors,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
