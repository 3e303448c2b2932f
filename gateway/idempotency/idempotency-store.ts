import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import { retryLater } from '../support/retry-later.js';
import { scopeTenant } from './idempotency-key.js';

/** What a finished request answered, kept for replays. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Base64, since binary-extension bodies are not text. */
  readonly body: string;
}

interface Record_ {
  readonly state: 'running' | 'done';
  readonly fingerprint: string;
  readonly token: string;
  readonly response?: StoredResponse;
}

export type BeginOutcome =
  | { readonly kind: 'started'; readonly token: string }
  | { readonly kind: 'in-progress' }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

/**
 * Idempotency records, scoped by tenant + route + key. begin() claims a key atomically:
 * of any number of concurrent requests with one key, exactly one gets 'started'.
 */
export interface IdempotencyStore {
  begin(scope: string, fingerprint: string, ttlMs: number): Promise<BeginOutcome>;
  /**
   * Stores the answer for replays (only the holder of `token` can). Never rejects: the request
   * has run, so a write that fails is retried in the background (the key answers 409
   * idempotency_in_progress meanwhile); false says it is being retried.
   */
  complete(scope: string, token: string, response: StoredResponse, ttlMs: number): Promise<boolean>;
  /** Frees the key (a 5xx, or a rejection before execution), so a retry can run. */
  abandon(scope: string, token: string): Promise<void>;
}

function outcome(existing: Record_, fingerprint: string): BeginOutcome {
  if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (existing.state === 'running' || !existing.response) return { kind: 'in-progress' };
  return { kind: 'replay', response: existing.response };
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, { record: Record_; expires: number }>();

  async begin(scope: string, fingerprint: string, ttlMs: number): Promise<BeginOutcome> {
    const now = Date.now();
    const existing = this.#records.get(scope);
    if (existing && existing.expires > now) return outcome(existing.record, fingerprint);
    const token = randomUUID();
    this.#records.set(scope, { record: { state: 'running', fingerprint, token }, expires: now + ttlMs });
    if (this.#records.size % 1000 === 0) this.#sweep(now);
    return { kind: 'started', token };
  }

  async complete(scope: string, token: string, response: StoredResponse, ttlMs: number): Promise<boolean> {
    const existing = this.#records.get(scope);
    if (existing?.record.token !== token) return true;
    this.#records.set(scope, { record: { ...existing.record, state: 'done', response }, expires: Date.now() + ttlMs });
    return true;
  }

  async abandon(scope: string, token: string): Promise<void> {
    if (this.#records.get(scope)?.record.token === token) this.#records.delete(scope);
  }

  #sweep(now: number): void {
    for (const [scope, entry] of this.#records) if (entry.expires <= now) this.#records.delete(scope);
  }
}

/** Only the token holder may finish or free a record. */
const IF_TOKEN_SET = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current)['token'] ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`;

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
  }

  async begin(scope: string, fingerprint: string, ttlMs: number): Promise<BeginOutcome> {
    const token = randomUUID();
    const record: Record_ = { state: 'running', fingerprint, token };
    // SET NX GET: claims the key, or returns who holds it, in one atomic step.
    const previous = await this.#redis.set(this.#key(scope), JSON.stringify(record), 'PX', ttlMs, 'NX', 'GET');
    if (previous === null) return { kind: 'started', token };
    const existing = JSON.parse(previous) as Record_;
    // Our own claim: the client sent the command again after a reconnect, its first answer lost.
    if (existing.token === token) return { kind: 'started', token };
    return outcome(existing, fingerprint);
  }

  async complete(scope: string, token: string, response: StoredResponse, ttlMs: number): Promise<boolean> {
    try {
      await this.#complete(scope, token, response, ttlMs);
      return true;
    } catch {
      // Safe to repeat: only the token's holder writes, and the answer is the same each time.
      // Should every try fail, the key is freed rather than left answering 409 for its whole retention.
      retryLater(
        () => this.#complete(scope, token, response, ttlMs),
        () => retryLater(() => this.#release(scope, token)),
      );
      return false;
    }
  }

  /**
   * A request usually fails because Redis is away (a restart, a failover): then the release
   * fails too, and the key would answer 409 until it expires. So a failed release is retried
   * in the background (support/retry-later.ts; the caller still gets the error).
   */
  async abandon(scope: string, token: string): Promise<void> {
    try {
      await this.#release(scope, token);
    } catch (error) {
      retryLater(() => this.#release(scope, token));
      throw error;
    }
  }

  async #complete(scope: string, token: string, response: StoredResponse, ttlMs: number): Promise<void> {
    const current = await this.#redis.get(this.#key(scope));
    if (!current) return;
    const record = { ...(JSON.parse(current) as Record_), state: 'done', response };
    await this.#redis.eval(IF_TOKEN_SET, 1, this.#key(scope), token, JSON.stringify(record), String(ttlMs));
  }

  #release(scope: string, token: string): Promise<unknown> {
    return this.#redis.eval(IF_TOKEN_SET, 1, this.#key(scope), token, '', '0');
  }

  #key(scope: string): string {
    return this.#keys.idempotency(scopeTenant(scope), scope);
  }
}
