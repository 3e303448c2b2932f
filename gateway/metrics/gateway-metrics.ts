import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LeanCounter, LeanHistogram } from '../../workers/metrics/lean-families.js';
import { CANCELLED_HELP, type CancelStage } from '../../workers/metrics/serving-metrics.js';
import { LATENCY_BUCKETS, METRIC_PREFIX } from '../../workers/metrics/registry.js';
import type { BreakerState, CircuitBreakers } from '../routing/circuit-breaker.js';

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;
const BREAKER_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export interface GatewayMetricsOptions {
  readonly breakers: CircuitBreakers;
  /** Distributed mode: requests waiting per version queue, from the worker registry's last poll. */
  readonly queueDepths?: () => readonly { queue: string; depth: number }[];
  /** Distributed mode: versions' cold starts (a request queued with no live worker, until one answers it). */
  readonly coldStarts?: { listen(listener: ColdStartListener): void };
  /** Distributed mode: requests whose callers left while gathering (embedded mode's batchers count theirs). */
  readonly cancellations?: { listen(listener: (model: string, version: string, stage: CancelStage) => void): void };
}

/** What gateway/queue/cold-starts.ts tells (declared here: metrics does not import the queue folder). */
interface ColdStartListener {
  started(model: string, version: string): void;
  served(model: string, version: string, seconds: number): void;
}

/** Cold starts span pod scheduling, image pull and warm-up: seconds to minutes. */
const COLD_START_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

/**
 * The gateway's own families: HTTP, policy outcomes, cost, routing. Every label value
 * comes from the configuration (tenant, route and model names), from fastify's route
 * patterns or from status codes, so the series stay bounded whatever callers send.
 */
export class GatewayMetrics {
  /** Observed on every response: the lean family, not prom-client's per-call label hashing. */
  readonly http: LeanHistogram;
  readonly rateLimited: Counter<'tenant'>;
  readonly budgetRejected: Counter<'tenant'>;
  readonly idempotentReplays: Counter<'tenant'>;
  readonly costUsd: Counter<'tenant' | 'model'>;
  readonly tierEscalations: Counter<'route'>;

  constructor(registry: Registry, options: GatewayMetricsOptions) {
    const registers = [registry];
    this.http = new LeanHistogram(
      name('http_request_duration_seconds'),
      'HTTP requests by route pattern, method and status',
      LATENCY_BUCKETS,
      registry,
    );
    this.rateLimited = new Counter({
      name: name('rate_limited_total'),
      help: "Requests refused by the tenant's rate limit",
      labelNames: ['tenant'],
      registers,
    });
    this.budgetRejected = new Counter({
      name: name('budget_rejected_total'),
      help: "Requests refused because the tenant's budget could not cover them",
      labelNames: ['tenant'],
      registers,
    });
    this.idempotentReplays = new Counter({
      name: name('idempotent_replays_total'),
      help: 'Requests answered from a stored response (same Idempotency-Key)',
      labelNames: ['tenant'],
      registers,
    });
    this.costUsd = new Counter({
      name: name('cost_usd_total'),
      help: 'Cost charged to the spend ledger, in USD',
      labelNames: ['tenant', 'model'],
      registers,
    });
    this.tierEscalations = new Counter({
      name: name('tier_escalations_total'),
      help: 'Requests a route answered from a later tier than its first (cascade or failover)',
      labelNames: ['route'],
      registers,
    });

    // Breakers forget a target once it succeeds: keep reporting it, as closed.
    const seen = new Set<string>();
    new Gauge({
      name: name('circuit_breaker_state'),
      help: 'Per model version and gateway: 0 closed, 1 half-open, 2 open',
      labelNames: ['target'],
      registers,
      collect() {
        const states = new Map(options.breakers.snapshot().map((entry) => [entry.target, BREAKER_VALUES[entry.state]]));
        for (const target of states.keys()) seen.add(target);
        for (const target of seen) this.set({ target }, states.get(target) ?? 0);
      },
    });
    const coldStarts = options.coldStarts;
    if (coldStarts) {
      const started = new Counter({
        name: name('cold_starts_total'),
        help: 'Requests queued for a version no live worker had warm, counted once per cold period',
        labelNames: ['model', 'version'],
        registers,
      });
      const seconds = new Histogram({
        name: name('cold_start_seconds'),
        help: 'From the first request queued for a cold version to its first answer',
        labelNames: ['model', 'version'],
        buckets: COLD_START_BUCKETS,
        registers,
      });
      coldStarts.listen({
        started: (model, version) => started.inc({ model, version }),
        served: (model, version, value) => seconds.observe({ model, version }, value),
      });
    }
    if (options.cancellations) {
      const cancelled = new LeanCounter(name('cancelled_requests_total'), CANCELLED_HELP, registry);
      options.cancellations.listen((model, version, stage) => cancelled.series({ model, version, stage }).inc());
    }
    const depths = options.queueDepths;
    if (depths) {
      new Gauge({
        name: name('queue_depth'),
        help: 'Requests waiting in a version queue in Redis at the last worker-registry poll, with or without a live worker (what wakes a pool at zero)',
        labelNames: ['queue'],
        registers,
        collect() {
          for (const { queue, depth } of depths()) this.set({ queue }, depth);
        },
      });
    }
  }
}
