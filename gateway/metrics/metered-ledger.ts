import { PICO } from '../budget/budget-store.js';
import type { SpendLedger, SpendQuery, SpendEntry } from '../ledger/spend-ledger.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/**
 * Counts cost where it is charged: every charge (each tier of a cascade, each model call
 * of a pipeline) goes through the spend ledger, so the counter agrees with /v1/spend.
 */
class MeteredLedger implements SpendLedger {
  constructor(
    private readonly inner: SpendLedger,
    private readonly metrics: GatewayMetrics,
  ) {}

  record(tenant: string, model: string, version: string, costPico: number, at?: Date): Promise<void> {
    if (costPico > 0) this.metrics.costUsd.inc({ tenant, model }, costPico / PICO);
    return this.inner.record(tenant, model, version, costPico, at);
  }

  query(query: SpendQuery): Promise<SpendEntry[]> {
    return this.inner.query(query);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }
}

export function withCostMetrics(services: PolicyServices, metrics: GatewayMetrics): PolicyServices {
  return { ...services, ledger: new MeteredLedger(services.ledger, metrics) };
}
