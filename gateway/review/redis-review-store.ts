import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import type { Resolution, ReviewItem, ReviewOutcome, ReviewState } from './review-item.js';
import { matches, type ReviewFilter, type ReviewStore, type RouteCounts } from './review-store.js';

/**
 * Claim and resolve as one step each, so two gateways cannot hand one item to two
 * reviewers. The mutable fields (and an explanation attached later) live beside the
 * item's JSON in one hash, so the scripts
 * never decode JSON (cjson would turn empty arrays into objects).
 */
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
local state = redis.call('HGET', KEYS[1], 'state')
local by = redis.call('HGET', KEYS[1], 'claimed_by')
if state == 'resolved' or (state == 'claimed' and by ~= ARGV[1]) then return 'conflict' end
if state == 'pending' then redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimed_by', ARGV[1], 'claimed_at', ARGV[2]) end
return 'ok'`;

const RESOLVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' or redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[1] then return 'conflict' end
redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolved_by', ARGV[1], 'resolved_at', ARGV[2], 'decision', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'human_output', ARGV[4]) end
return 'ok'`;

/** Only onto an item that still exists: a late explanation must not bring an expired one back. */
const ATTACH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'explanation', ARGV[1])
return 1`;

const PAGE = 500;

/** Distributed mode's review store: a hash per item, a sorted set by creation time, per-route counters. */
export class RedisReviewStore implements ReviewStore {
  readonly #keys: RedisKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly retentionMs: number,
  ) {
    this.#keys = redisKeys(prefix);
  }

  async create(item: ReviewItem): Promise<void> {
    const created = Date.parse(item.created_at);
    await this.redis
      .multi()
      .hset(this.#key(item.id), 'item', JSON.stringify(item), 'state', item.state)
      .pexpire(this.#key(item.id), this.retentionMs)
      .zadd(this.#index(), created, item.id)
      // The index forgets what the items' own expiry already dropped.
      .zremrangebyscore(this.#index(), '-inf', `(${Date.now() - this.retentionMs}`)
      .hincrby(this.#keys.reviewCounts('created'), item.route, 1)
      .exec();
  }

  async get(id: string): Promise<ReviewItem | undefined> {
    return decode(await this.redis.hgetall(this.#key(id)));
  }

  async list(filter: ReviewFilter): Promise<ReviewItem[]> {
    const min = filter.createdAfter !== undefined ? `(${filter.createdAfter}` : '-inf';
    const max = filter.createdBefore !== undefined ? `(${filter.createdBefore}` : '+inf';
    const out: ReviewItem[] = [];
    for (let offset = 0; out.length < filter.limit; offset += PAGE) {
      const ids = await this.redis.zrangebyscore(this.#index(), min, max, 'LIMIT', offset, PAGE);
      if (ids.length === 0) break;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.#key(id));
      const replies = (await pipeline.exec()) ?? [];
      for (const [error, fields] of replies) {
        if (error) throw error;
        const item = decode(fields as Record<string, string>);
        if (item && matches(item, filter)) out.push(item);
        if (out.length >= filter.limit) break;
      }
      if (ids.length < PAGE) break;
    }
    return out;
  }

  async claim(id: string, reviewer: string, at: string): Promise<ReviewOutcome> {
    return this.#outcome(id, (await this.redis.eval(CLAIM, 1, this.#key(id), reviewer, at)) as string);
  }

  async resolve(id: string, reviewer: string, resolution: Resolution): Promise<ReviewOutcome> {
    const human = resolution.humanOutput !== undefined ? JSON.stringify(resolution.humanOutput) : '';
    return this.#outcome(
      id,
      (await this.redis.eval(RESOLVE, 1, this.#key(id), reviewer, resolution.at, resolution.decision, human)) as string,
    );
  }

  async attachExplanation(id: string, explanation: unknown): Promise<boolean> {
    return (await this.redis.eval(ATTACH, 1, this.#key(id), JSON.stringify(explanation))) === 1;
  }

  async countRouted(route: string): Promise<void> {
    await this.redis.hincrby(this.#keys.reviewCounts('routed'), route, 1);
  }

  async counts(): Promise<Record<string, RouteCounts>> {
    const counts = (kind: 'routed' | 'created'): Promise<Record<string, string>> => this.redis.hgetall(this.#keys.reviewCounts(kind));
    const [routed, created] = await Promise.all([counts('routed'), counts('created')]);
    const routes = new Set([...Object.keys(routed), ...Object.keys(created)]);
    return Object.fromEntries(
      [...routes].map((route) => [route, { routed: Number(routed[route] ?? 0), created: Number(created[route] ?? 0) }]),
    );
  }

  async #outcome(id: string, verdict: string): Promise<ReviewOutcome> {
    if (verdict === 'not_found') return { kind: 'not_found' };
    const item = await this.get(id);
    if (!item) return { kind: 'not_found' };
    return verdict === 'ok' ? { kind: 'ok', item } : { kind: 'conflict', item };
  }

  #key(id: string): string {
    return this.#keys.reviewItem(id);
  }

  #index(): string {
    return this.#keys.reviewIndex();
  }
}

/** The item's JSON as created, with the fields claim and resolve wrote over it. */
function decode(fields: Record<string, string>): ReviewItem | undefined {
  if (!fields.item) return undefined;
  const item = JSON.parse(fields.item) as ReviewItem;
  return {
    ...item,
    state: (fields.state ?? item.state) as ReviewState,
    ...(fields.claimed_by !== undefined ? { claimed_by: fields.claimed_by, claimed_at: fields.claimed_at } : {}),
    ...(fields.resolved_by !== undefined
      ? { resolved_by: fields.resolved_by, resolved_at: fields.resolved_at, decision: fields.decision as ReviewItem['decision'] }
      : {}),
    ...(fields.human_output !== undefined ? { human_output: JSON.parse(fields.human_output) as unknown } : {}),
    ...(fields.explanation !== undefined ? { explanation: JSON.parse(fields.explanation) as unknown } : {}),
  };
}
