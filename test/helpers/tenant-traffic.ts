import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';

/** Keys of the tenants a fair-share or concurrency test sends as. */
export const TENANT_KEYS = {
  noisy: 'noisy-secret',
  quiet: 'quiet-secret',
  capped: 'capped-secret',
  strict: 'strict-secret',
  batch: 'batch-secret',
} as const;

/** A policy file beside the repository: two plain tenants, one with max_concurrency, two with priority rules. */
export function writeTenantPolicy(dir: string, maxConcurrency = 2): string {
  const key = (name: keyof typeof TENANT_KEYS) => [{ sha256: hashKey(TENANT_KEYS[name]) }];
  const file = join(dir, 'tenants.yaml');
  writeFileSync(
    file,
    stringify({
      tenants: [
        { name: 'noisy', keys: key('noisy') },
        { name: 'quiet', keys: key('quiet') },
        { name: 'capped', keys: key('capped'), max_concurrency: maxConcurrency },
        { name: 'batch', keys: key('batch'), priority: 8, max_priority: 5 },
        { name: 'strict', keys: key('strict'), priority: 8, max_priority: 5, priority_strict: true },
      ],
    }),
  );
  return file;
}

/** One text line (FP32 [1, 3, 48, width]) as a binary-extension body, outputs binary too. */
export function lineRequest(
  width: number,
  seed: number,
  parameters: Record<string, unknown> = {},
): { body: Buffer; headers: Record<string, string> } {
  const data = new Float32Array(3 * 48 * width);
  for (let i = 0; i < data.length; i += 1) data[i] = Math.sin(i * 0.37 + seed);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], parameters: { binary_data_size: data.byteLength } }],
      parameters: { binary_data_output: true, ...parameters },
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(data.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

export interface Timed {
  readonly status: number;
  readonly ms: number;
  readonly computeMs: number;
  readonly queueMs: number;
  /** Arrival at the gateway to the answer ready (X-Server-Ms). */
  readonly serverMs: number;
  readonly batchSize: number;
  readonly headers: Headers;
  readonly code?: string;
}

/** Sends one request as `key` and times it end to end. */
export async function timedInfer(
  url: string,
  key: string,
  request: { body: Buffer; headers: Record<string, string> },
  signal?: AbortSignal,
): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...request.headers, authorization: `Bearer ${key}` },
    body: request.body,
    ...(signal ? { signal } : {}),
  });
  const body = Buffer.from(await response.arrayBuffer());
  const ms = performance.now() - started;
  const number = (name: string): number => Number(response.headers.get(name) ?? NaN);
  const code = response.status === 200 ? undefined : (JSON.parse(body.toString('utf8')) as { code?: string }).code;
  return {
    status: response.status,
    ms,
    computeMs: number('x-compute-ms'),
    queueMs: number('x-queue-ms'),
    serverMs: number('x-server-ms'),
    batchSize: number('x-batch-size'),
    headers: response.headers,
    ...(code !== undefined ? { code } : {}),
  };
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};

/**
 * Tenant `noisy` keeps `depth` requests in flight while `quiet` sends `samples` one at a time,
 * first alone (its idle latency), then during the flood. The batch time is the median compute
 * time of the flood's batches, measured in the same run, so the comparison holds on a
 * loaded machine. `quietKey` may be the noisy tenant's own key: the same traffic without fairness.
 */
export async function noisyNeighbour(url: string, options: { width: number; depth: number; samples: number; quietKey?: string }) {
  const quietKey = options.quietKey ?? TENANT_KEYS.quiet;
  const request = lineRequest(options.width, 1);
  let flooding = true;
  const flood: Timed[] = [];
  /**
   * One at a time, after a pause of up to one batch time: sent straight after its answer, each
   * request would arrive just as the next batch starts, and always wait out a whole one.
   */
  const quietRun = async (): Promise<Timed[]> => {
    const replies: Timed[] = [];
    for (let i = 0; i < options.samples; i += 1) {
      const batchMs = median(flood.filter((reply) => reply.status === 200).map((reply) => reply.computeMs));
      if (batchMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * batchMs));
      replies.push(await timedInfer(url, quietKey, request));
    }
    return replies;
  };
  for (let i = 0; i < 3; i += 1) await timedInfer(url, quietKey, request); // warm the connection and the path
  const idle = await quietRun();
  const loops = Array.from({ length: options.depth }, async () => {
    while (flooding) flood.push(await timedInfer(url, TENANT_KEYS.noisy, request));
  });
  // The flood is at its steady state once its first wave has been answered.
  while (flood.length < options.depth) await new Promise((resolve) => setTimeout(resolve, 20));
  const loaded = await quietRun();
  flooding = false;
  await Promise.all(loops);
  // Under the flood every batch is as full as the batcher makes them (max_batch_size, or the warm-up's cap).
  const served = flood.filter((reply) => reply.status === 200);
  return {
    idle,
    loaded,
    flood,
    idleP50: median(idle.map((r) => r.ms)),
    idleServerP50: median(idle.map((r) => r.serverMs)),
    /** Queued to answered (X-Queue-Ms + X-Compute-Ms; in distributed mode the queue time counts the wait in Redis). */
    idleServedP50: median(idle.map((r) => r.queueMs + r.computeMs)),
    loadedServedP50: median(loaded.map((r) => r.queueMs + r.computeMs)),
    loadedP50: median(loaded.map((r) => r.ms)),
    loadedQueueP50: median(loaded.map((r) => r.queueMs)),
    loadedServerP50: median(loaded.map((r) => r.serverMs)),
    floodP50: median(served.map((r) => r.ms)),
    floodServerP50: median(served.map((r) => r.serverMs)),
    batchMs: median(served.map((r) => r.computeMs)),
    batchSize: median(served.map((r) => r.batchSize)),
  };
}
