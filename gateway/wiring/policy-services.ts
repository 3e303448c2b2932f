import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { JsonLinesAuditLog } from '../audit/audit-file.js';
import { MemoryAuditLog, RedisAuditLog, type AuditLog } from '../audit/audit-log.js';
import { MemoryBudgetStore, RedisBudgetStore, type BudgetStore } from '../budget/budget-store.js';
import { MemoryConcurrencyStore, RedisConcurrencyStore, type ConcurrencyStore } from '../limits/tenant-concurrency.js';
import { MemoryIdempotencyStore, RedisIdempotencyStore, type IdempotencyStore } from '../idempotency/idempotency-store.js';
import { MemoryReviewStore } from '../review/memory-review-store.js';
import { RedisReviewStore } from '../review/redis-review-store.js';
import type { ReviewStore } from '../review/review-store.js';
import { MemoryCacheStore } from '../cache/memory-cache-store.js';
import { RedisCacheStore } from '../cache/redis-cache-store.js';
import { ResponseCache } from '../cache/response-cache.js';
import { MemorySpendLedger, RedisSpendLedger, type SpendLedger } from '../ledger/spend-ledger.js';
import { CircuitBreakers } from '../routing/circuit-breaker.js';
import { MemoryShadowStats, RedisShadowStats, type ShadowStats } from '../routing/shadow-stats.js';
import type { Policy } from '../policy/policy-config.js';
import type { ModelCallServices } from '../routing/model-call.js';
import type { ServingBackend } from '../serving-backend.js';

/**
 * The policy layer's state. Embedded mode keeps it in memory; distributed mode keeps
 * it in Redis so that every gateway instance enforces one limit, one budget, one
 * idempotency record. Circuit breakers stay per instance (see circuit-breaker.ts).
 */
export interface PolicyServices {
  readonly policy: Policy;
  readonly idempotency: IdempotencyStore;
  readonly budgets: BudgetStore;
  readonly ledger: SpendLedger;
  readonly audit: AuditLog;
  readonly shadow: ShadowStats;
  readonly reviews: ReviewStore;
  readonly breakers: CircuitBreakers;
  /** Tenants' requests in flight, against max_concurrency. */
  readonly concurrency: ConcurrencyStore;
  /** Answers kept for repeated inputs: in memory (embedded), in Redis shared by every gateway (distributed). */
  readonly responseCache?: ResponseCache;
  /** For @fastify/rate-limit's store; absent in embedded mode (its in-memory store). */
  readonly rateLimit?: { readonly redis: RedisClient; readonly nameSpace: string };
}

/** What the one model-call function needs from these services (see routing/model-call.ts). */
export function modelCallServices(
  services: PolicyServices,
  backend: ServingBackend,
  onLedgerError: (error: unknown) => void,
): ModelCallServices {
  return {
    backend,
    routes: () => services.policy.routes,
    breakers: services.breakers,
    ledger: services.ledger,
    onLedgerError,
    ...(services.responseCache ? { cache: services.responseCache } : {}),
  };
}

/** Adds the JSON-lines audit file, when one is configured. */
export function withAuditFile(services: PolicyServices, file: string | undefined, onError: (error: unknown) => void): PolicyServices {
  return file ? { ...services, audit: new JsonLinesAuditLog(services.audit, file, onError) } : services;
}

export function memoryPolicyServices(policy: Policy, onError: (error: unknown) => void = () => undefined): PolicyServices {
  return {
    policy,
    idempotency: new MemoryIdempotencyStore(),
    budgets: new MemoryBudgetStore(),
    ledger: new MemorySpendLedger(),
    audit: new MemoryAuditLog(policy.audit.max_entries),
    shadow: new MemoryShadowStats(),
    reviews: new MemoryReviewStore(Math.round(policy.reviews.retention_hours * 3_600_000)),
    breakers: new CircuitBreakers(policy.circuit_breaker.failures, policy.circuit_breaker.open_ms),
    concurrency: new MemoryConcurrencyStore(),
    responseCache: new ResponseCache(new MemoryCacheStore(), onError),
  };
}

export function redisPolicyServices(policy: Policy, redis: RedisClient, prefix: string, onError: (error: unknown) => void): PolicyServices {
  return {
    policy,
    idempotency: new RedisIdempotencyStore(redis, prefix),
    budgets: new RedisBudgetStore(redis, prefix),
    ledger: new RedisSpendLedger(redis, prefix, onError),
    audit: new RedisAuditLog(redis, redisKeys(prefix).audit(), policy.audit.max_entries, onError),
    shadow: new RedisShadowStats(redis, redisKeys(prefix).shadow()),
    reviews: new RedisReviewStore(redis, prefix, Math.round(policy.reviews.retention_hours * 3_600_000)),
    breakers: new CircuitBreakers(policy.circuit_breaker.failures, policy.circuit_breaker.open_ms),
    concurrency: new RedisConcurrencyStore(redis, (tenant) => redisKeys(prefix).concurrency(tenant)),
    responseCache: new ResponseCache(new RedisCacheStore(redis, prefix), onError),
    rateLimit: { redis, nameSpace: redisKeys(prefix).rateLimitNameSpace() },
  };
}
