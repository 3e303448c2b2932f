import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { settledWithin } from '../../workers/queue/settled-within.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import type { TaskEvent, TaskEventType, TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';

/** KEYS: record, cancel mark. ARGV: mark TTL ms. Statuses past cancelling are isPastCancel's. */
const REQUEST_CANCEL = `
local text = redis.call('GET', KEYS[1])
if not text then return 'missing' end
local status = cjson.decode(text).status
if status == 'succeeded' or status == 'failed' or status == 'cancelled' or status == 'needs_review' then return 'finished' end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 'requested'`;

/** KEYS: record, cancel mark. ARGV: record JSON, TTL ms. */
const FINISH = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** KEYS: record. ARGV: cancelled record JSON, TTL ms. */
const SETTLE_CANCELLED = `
local text = redis.call('GET', KEYS[1])
if not text then return 0 end
local status = cjson.decode(text).status
if status == 'succeeded' or status == 'failed' or status == 'cancelled' or status == 'needs_review' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** How often an event follower looks for new events (Redis has no per-key wake-up without a blocking connection each). */
const POLL_MS = 100;

/**
 * Distributed mode's task store: the record as JSON and its events as a stream, both
 * expiring after the retention period, so any gateway can answer for any task.
 */
export class RedisTaskStore implements TaskStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #retentionMs: number;

  constructor(redis: RedisClient, prefix: string, retentionMs: number) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
    this.#retentionMs = retentionMs;
  }

  async put(record: TaskRecord): Promise<void> {
    await this.#redis.set(this.#keys.task(record.id), JSON.stringify(record), 'PX', this.#retentionMs);
  }

  async requestCancel(id: string): Promise<'requested' | 'finished' | 'missing'> {
    const outcome = await this.#redis.eval(REQUEST_CANCEL, 2, this.#keys.task(id), this.#keys.taskCancel(id), this.#retentionMs);
    return outcome as 'requested' | 'finished' | 'missing';
  }

  async cancelRequested(id: string): Promise<boolean> {
    return (await this.#redis.exists(this.#keys.taskCancel(id))) === 1;
  }

  async finish(record: TaskRecord): Promise<boolean> {
    return (
      (await this.#redis.eval(
        FINISH,
        2,
        this.#keys.task(record.id),
        this.#keys.taskCancel(record.id),
        JSON.stringify(record),
        this.#retentionMs,
      )) === 1
    );
  }

  async settleCancelled(record: TaskRecord): Promise<boolean> {
    return (await this.#redis.eval(SETTLE_CANCELLED, 1, this.#keys.task(record.id), JSON.stringify(record), this.#retentionMs)) === 1;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const text = await this.#redis.get(this.#keys.task(id));
    return text ? (JSON.parse(text) as TaskRecord) : undefined;
  }

  async appendEvent(id: string, type: TaskEventType, data: Record<string, unknown>): Promise<void> {
    const key = this.#keys.taskEvents(id);
    const counter = this.#keys.taskEventSeq(id);
    const at = new Date().toISOString();
    // The sequence number comes from a counter, so it stays dense across gateways.
    const seq = await this.#redis.incr(counter);
    // Bounded on a Cluster (settledWithin): a run waiting on a lost transaction would stay `running`.
    await settledWithin(
      this.#redis,
      this.#redis
        .multi()
        .xadd(key, '*', 'event', JSON.stringify({ seq, type, at, data }))
        .pexpire(key, this.#retentionMs)
        .pexpire(counter, this.#retentionMs)
        .exec(),
    );
  }

  async events(id: string, afterSeq: number, waitMs: number): Promise<TaskEvent[]> {
    const until = Date.now() + waitMs;
    for (;;) {
      const entries = await this.#redis.xrange(this.#keys.taskEvents(id), '-', '+');
      const events = entries
        .map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1] ?? '{}') as TaskEvent)
        .filter((event) => event.seq > afterSeq)
        .sort((a, b) => a.seq - b.seq);
      if (events.length > 0 || Date.now() >= until) return events;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, until - Date.now())));
    }
  }
}
