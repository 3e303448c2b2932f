import type { InferResult } from '../../workers/protocol/inference.js';
import type { RawAnswer } from '../cache/raw-index.js';
import type { RawBody } from '../protocol/read-infer-body.js';
import { rawKey, type RawKey } from './raw-key.js';
import type { ResponseCache } from '../cache/response-cache.js';
import { tenantPriority } from '../limits/tenant-priority.js';
import { responseMetadata } from '../metadata/response-metadata.js';
import type { PlanOutcome } from '../routing/model-call.js';
import type { EncodedAnswer, InferCall, InferFrontEnd, RunStage } from './infer-call.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { PlannedCall } from './plan-call.js';
import type { Target } from './resolve-target.js';

/** A call the response cache may answer by its body, before the body is parsed. */
export interface RawLookup {
  readonly cache: ResponseCache;
  readonly key: RawKey;
  readonly body: RawBody;
  /** A weighted route's draw: the parsed path plans with it too, so what it keeps is under the right key. */
  readonly draw: number;
}

/**
 * Stage: the call's raw key, when the response cache may answer it by body (see
 * cache/raw-index.ts): a transport that has the raw body (HTTP), a first tier that caches,
 * no explain stage and no review (a route that reviews files its answers, which a raw hit
 * would skip; X-Review is checked on the parsed path).
 */
export async function rawLookup(
  call: InferCall,
  target: Target,
  frontEnd: InferFrontEnd,
  deps: PipelineDeps,
  stage?: RunStage,
): Promise<RawLookup | undefined> {
  const cache = deps.services.responseCache;
  if (!cache || stage || !frontEnd.raw || call.headers.review !== undefined || target.route?.review) return undefined;
  const body = frontEnd.raw.body();
  if (!body) return undefined;
  const tier = call.headers.tier;
  const draw = Math.random();
  const key = await rawKey(
    {
      name: call.name,
      ...(call.version !== undefined ? { version: call.version } : {}),
      ...(target.route ? { route: target.route } : {}),
      tenant: target.tenant,
      ...(typeof tier === 'string' ? { requestedTier: tier } : {}),
      draw,
    },
    body,
    deps.backend,
  );
  return key ? { cache, key, body, draw } : undefined;
}

const NO_PRICE = { usd_per_compute_second: 0, usd_per_request: 0, reserve_compute_ms: 0 };

/**
 * A raw hit, answered: the tenant's priority policy applied to what the body asked (a 403
 * under priority_strict, as on the parsed path), the audit noted as a cached call's, the hit
 * counted, and the kept answer sent with this call's metadata.
 */
export function answerFromRaw(call: InferCall, target: Target, lookup: RawLookup, answer: RawAnswer): () => EncodedAnswer {
  const priority = tenantPriority(target.tenant, answer.askedPriority);
  return () => {
    const { model, version, tier, escalated } = answer;
    Object.assign(call.audit, { model, version, tier, escalated, costUsd: 0, queueMs: 0, computeMs: 0, cached: true });
    lookup.cache.counted(model, true, true);
    const result = { model, version, outputs: [], timings: { queueMs: 0, computeMs: 0, batchSize: 0, batchRows: 0 } };
    const servedBy = { route: call.name, tier, escalated, costUsd: 0, priority, cache: 'hit' as const };
    return answer.encode(responseMetadata(call, result, NO_PRICE, answer.rows, servedBy, performance.now() - call.arrivedAt));
  };
}

/** After a parsed call was answered from the cache: its answer kept by body, so the same body is a raw hit next time. */
export function keepByBody(
  lookup: RawLookup,
  planned: PlannedCall,
  outcome: PlanOutcome,
  answered: InferResult,
  frontEnd: InferFrontEnd,
): void {
  if (outcome.cache !== 'hit' || !outcome.sources?.length) return;
  // `answered`: the outputs as this call's answer gave them (classified, where it asked).
  const template = frontEnd.raw?.template(planned.parsed, answered);
  if (!template) return;
  lookup.cache.raw.set(lookup.key.model, lookup.key.key, outcome.sources, {
    model: outcome.result.model,
    version: outcome.result.version,
    tier: outcome.served.tier,
    escalated: outcome.escalated,
    rows: outcome.served.request.rows,
    askedPriority: planned.askedPriority,
    encode: template.encode,
    bytes: template.bytes,
  });
}
