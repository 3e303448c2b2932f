import { performance } from 'node:perf_hooks';
import { traceContextFor, traceparentOf } from '../gateway/http/trace-context.js';
import { finishRequestSpan, startRequestSpan } from '../gateway/tracing/request-span.js';
import { traceBatch } from '../workers/tracing/batch-trace.js';
import { activeTracer, setActiveTracer } from '../workers/tracing/tracer.js';
import { traceStep } from '../workers/tracing/trace-step.js';
import { startTracing } from '../workers/tracing/span-export.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.js';

export type SpanCostMode = 'off' | 'on, unsampled' | 'on, sampled';

/** CPU microseconds per request of the tracing calls alone, per mode: the median of alternated blocks. */
export interface SpanCost {
  readonly requestsPerBlock: number;
  readonly rounds: number;
  readonly cpuUsPerRequest: Readonly<Record<SpanCostMode, number>>;
}

const STEPS = ['auth', 'routing', 'plan', 'model call'];

/** What one request's tracing does in the gateway and the worker (embedded): request span, four steps, batch, queue, runtime. */
function oneRequest(): void {
  const trace = startRequestSpan(traceContextFor(undefined), 'POST /v2/models/:model/infer', {
    'http.request.method': 'POST',
    'http.route': '/v2/models/:model/infer',
  });
  for (const step of STEPS) traceStep(trace.span, step, () => 0);
  const now = performance.now();
  const batch = traceBatch(
    'mlp-classifier',
    '1',
    0,
    [{ request: { traceparent: traceparentOf(trace) }, enqueuedAtPerf: now - 0.2 }],
    now,
    1,
  );
  batch?.runtimeStarted('cpu');
  batch?.runtimeDone(0.5, 0.025, 0.025);
  batch?.end();
  finishRequestSpan(
    trace.span,
    { requestId: 'r', tenant: 'local', audit: { model: 'mlp-classifier', version: '1', queueMs: 0.2, computeMs: 0.5 }, code: undefined },
    { 'http.response.status_code': 200 },
    false,
  );
}

/**
 * The tracing calls of a request run in a loop in this process, against a real tracer provider
 * exporting to `endpoint`, in blocks alternating off, unsampled (ratio 0) and sampled (ratio 1),
 * each block's CPU time (export work included: it flushes before the block ends; the queue holds a
 * whole block, so no span is dropped) divided by its requests. CPU time, not wall time: it does not
 * grow when other processes take the cores. Runs in a process of its own (see below), so the
 * receiver's work is not counted.
 */
export async function measureSpanCost(endpoint: string, rounds = 15, requestsPerBlock = 2_000): Promise<SpanCost> {
  // A block's spans (~16,000) fit the queue and go out in a few exports at its flush (the exporter refuses more than 30 at once).
  const batch = { scheduledDelayMillis: 1000, exportTimeoutMillis: 30_000, maxQueueSize: 65_536, maxExportBatchSize: 4096 };
  const base = {
    url: `${endpoint}/v1/traces`,
    headers: {},
    timeoutMs: 10_000,
    resourceAttributes: {},
    sampler: 'parentbased_traceidratio' as const,
    batch,
  };
  const sampled = startTracing({ ...base, ratio: 1 }, 'bench')!;
  const sampledTracer = activeTracer();
  const unsampled = startTracing({ ...base, ratio: 0 }, 'bench')!;
  const unsampledTracer = activeTracer();
  const modes: { mode: SpanCostMode; tracer: ReturnType<typeof activeTracer>; flush: () => Promise<void> }[] = [
    { mode: 'off', tracer: undefined, flush: async () => undefined },
    { mode: 'on, unsampled', tracer: unsampledTracer, flush: unsampled.flush },
    { mode: 'on, sampled', tracer: sampledTracer, flush: sampled.flush },
  ];
  const samples = new Map<SpanCostMode, number[]>(modes.map(({ mode }) => [mode, []]));
  try {
    for (let r = -1; r < rounds; r += 1) {
      for (const { mode, tracer, flush } of modes) {
        setActiveTracer(tracer);
        const before = process.cpuUsage();
        for (let i = 0; i < requestsPerBlock; i += 1) oneRequest();
        await flush();
        const used = process.cpuUsage(before);
        // Round -1 warms the JIT and is not kept.
        if (r >= 0) samples.get(mode)!.push((used.user + used.system) / requestsPerBlock);
      }
    }
  } finally {
    setActiveTracer(undefined);
    await sampled.shutdown();
    await unsampled.shutdown();
  }
  const cpu = Object.fromEntries(modes.map(({ mode }) => [mode, round(median(samples.get(mode)!), 2)])) as Record<SpanCostMode, number>;
  return { requestsPerBlock, rounds, cpuUsPerRequest: cpu };
}

/** Measured in a child process: `node dist/bench/otel-span-cost.js <endpoint>` prints the SpanCost as JSON. */
export function measureSpanCostInChild(endpoint: string): Promise<SpanCost> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [fileURLToPath(import.meta.url), endpoint], { maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as SpanCost);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  measureSpanCost(process.argv[2]!).then(
    (cost) => {
      process.stdout.write(JSON.stringify(cost));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
