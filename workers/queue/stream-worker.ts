import type { ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';
import type { InferJobData, Reply } from './job-codec.js';
import type { RedisClient } from './redis-connection.js';
import { settledWithin } from './settled-within.js';
import type { RedisKeys } from './redis-keys.js';
import type { ReplySender } from './reply-stream.js';
import { BACKING_OFF, GROUP, readEntry } from './stream-jobs.js';

/** A job as the streams engine hands it to the consumer. */
export interface StreamJob {
  readonly queue: string;
  readonly jobId: string;
  /** Requests answered on an earlier attempt are left out. */
  readonly data: InferJobData;
  readonly addedAt: number;
  /** 1 on the first delivery; every retry and every take-over of a stalled job adds one. */
  readonly attempt: number;
}

export interface StreamOutcome {
  /** Answers, written to the reply stream together with the finish. */
  readonly reply?: { readonly key: string; readonly reply: Reply };
  /** Items that failed in a way worth retrying, and why (failure-policy.ts's encoding). */
  readonly retry?: { readonly items: readonly number[]; readonly reason: string };
}

export interface StreamWorkerOptions {
  readonly queue: string;
  /** Commands (finishes, leases, look-ups): the worker's shared connection. */
  readonly redis: RedisClient;
  /** The blocking XREADGROUP's own connection (closed with the worker). */
  readonly blocking: RedisClient;
  readonly keys: RedisKeys;
  /** This worker's consumer name in the group. */
  readonly consumer: string;
  readonly concurrency: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly attempts: number;
  readonly backoffMs: number;
  /** A consumer holding nothing and silent this long is a worker that is gone (default an hour). */
  readonly forgetConsumersAfterMs?: number;
  readonly replies: ReplySender;
  readonly logger: Logger;
  readonly process: (job: StreamJob) => Promise<StreamOutcome>;
  /** Out of attempts: dead-letter the job and answer its callers; it is finished afterwards. */
  readonly exhausted: (job: StreamJob, reason: string) => Promise<void>;
}

interface Taken {
  readonly priorityClass: number;
  readonly entryId: string;
  readonly fields: readonly Buffer[];
  readonly attempt: number;
}

/** Longest a blocking read waits, so a closing worker stops within it. */
const BLOCK_MS = 1_000;
/**
 * After a connection of this worker errs or reconnects, its own pending entries idle this long
 * and not in hand are deliveries it never received (a read cut after Redis delivered, or a
 * finish that failed), looked for every second for a while.
 */
const LOST_DELIVERY_IDLE_MS = 2 * BLOCK_MS;
const LOOK_FOR_LOST_MS = 30_000;
/**
 * And every this often regardless: a failover can also undo a finish that did not fail (the reply,
 * XACK and XDEL acknowledged by a master that died before its replica had them), which leaves the
 * entry pending here with no error seen.
 */
const LOST_SWEEP_EVERY_TICKS = 10;
/** What ioredis emits (single, Sentinel or Cluster) when the blocking read's connection, or one node's, failed. */
const CUT_EVENTS = ['error', 'node error', 'reconnecting', '-node'] as const;
/** An answered-items set outlives any retry schedule. */
const ANSWERED_TTL_MS = 600_000;
/** Gone consumers (forgetConsumersAfterMs) are looked for every this many stalled-job checks. */
const FORGET_EVERY_CHECKS = 60;
/** Takes a job backing off once due, atomically: of several workers, one gets it (and its delivery counts). */
const PROMOTE = `if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4])`;

/** Entries as read: Buffers (a job's tensors are bytes), a deleted entry's fields null. */
type Entries = [Buffer, Buffer[] | null][];

/**
 * QUEUE_ENGINE=streams, a worker's side of one queue: no Lua per job.
 * - Take: one XREADGROUP over the queue's streams, best priority class first, up to the free
 *   slots of every stream (what one read brings beyond them waits here, in class order).
 * - Finish: the reply XADD, XACK and XDEL in one MULTI.
 * - Lease: a job in hand is XCLAIMed again (JUSTID) every half lock, which keeps its idle time
 *   low; one whose worker died goes idle, and every stalledIntervalMs each worker claims
 *   entries idle longer than the lock (XPENDING IDLE, then XCLAIM with that idle time as the
 *   condition, so of two workers one gets it). The delivery count is the attempt.
 * - Retry: the entry moves to the BACKING_OFF consumer and a sorted set says when it is due;
 *   a worker takes it back then (one small script). Out of attempts: `exhausted`.
 */
export class StreamWorker {
  readonly #o: StreamWorkerOptions;
  readonly #streams: readonly string[];
  /** Entries this worker holds (running or waiting for a slot), with their priority class. */
  readonly #inHand = new Map<string, number>();
  readonly #ready: Taken[] = [];
  #running = 0;
  #checks = 0;
  /** The last read filled every free slot: read class by class, best first, until one does not. */
  #backlog = false;
  #open = true;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #idle: (() => void) | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** When a connection of this worker last erred or reconnected. */
  #cutAt = 0;
  readonly #onCut = (): void => {
    this.#cutAt = Date.now();
  };

  constructor(options: StreamWorkerOptions) {
    this.#o = options;
    this.#streams = options.keys.jobStreams(options.queue);
  }

  start(): void {
    this.#loop = this.#readLoop();
    const every = (ms: number, tick: () => Promise<void>): void => {
      const timer = setInterval(() => {
        if (this.#open) tick().catch((error: unknown) => this.#o.logger.warn({ err: error, queue: this.#o.queue }, 'queue upkeep failed'));
      }, ms);
      this.#timers.push(timer);
    };
    every(Math.max(100, Math.floor(this.#o.lockDurationMs / 2)), () => this.#renewLeases());
    every(this.#o.stalledIntervalMs, () => this.#reclaimStalled());
    every(Math.min(500, Math.max(50, Math.floor(this.#o.backoffMs / 2))), () => this.#promoteDue());
    for (const event of CUT_EVENTS) this.#o.blocking.on(event, this.#onCut);
    let ticks = 0;
    every(1_000, async () => {
      ticks += 1;
      if (Date.now() - this.#cutAt < LOOK_FOR_LOST_MS || ticks % LOST_SWEEP_EVERY_TICKS === 0) await this.#takeBackLost();
    });
  }

  /** Stops taking jobs, finishes those running, and hands back those not started. */
  async close(): Promise<void> {
    this.#open = false;
    this.#wake?.();
    await this.#loop;
    const unstarted = this.#ready.splice(0);
    if (this.#running > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    for (const timer of this.#timers) clearInterval(timer);
    for (const event of CUT_EVENTS) this.#o.blocking.off(event, this.#onCut);
    await this.#handBack(unstarted).catch(() => undefined);
    await this.#o.blocking.quit().catch(() => undefined);
  }

  async #readLoop(): Promise<void> {
    await this.#createGroups();
    while (this.#open) {
      const room = this.#o.concurrency - this.#inHand.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      try {
        if (this.#backlog) await this.#readByClass(room);
        else await this.#readAny(room);
        this.#pump();
      } catch (error) {
        if (!this.#open) break;
        if (String((error as Error).message).includes('NOGROUP')) await this.#createGroups();
        else {
          this.#o.logger.warn({ err: error, queue: this.#o.queue }, 'job stream read failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  }

  /**
   * One blocking read over every class's stream: what the idle path costs (one round trip a job).
   * XREADGROUP's COUNT is per stream, so entries that arrive in several classes at once may bring
   * more than the free slots (held here, best class first); as many as asked means a backlog.
   */
  async #readAny(room: number): Promise<void> {
    const result = (await this.#o.blocking.xreadgroupBuffer(
      'GROUP',
      GROUP,
      this.#o.consumer,
      'COUNT',
      room,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      ...this.#streams,
      ...this.#streams.map(() => '>'),
    )) as [Buffer, Entries][] | null;
    let taken = 0;
    for (const [stream, entries] of result ?? []) {
      this.#accept(this.#streams.indexOf(stream.toString()), entries, () => 1);
      taken += entries.length;
    }
    this.#backlog = taken >= room || (result?.length ?? 0) > 1;
  }

  /**
   * With a backlog, the free slots are filled best class first, one stream at a time, so a
   * worse class never takes a slot while a better one has jobs waiting (no blocking: the
   * queue was just found busy).
   */
  async #readByClass(room: number): Promise<void> {
    let left = room;
    for (const [cls, stream] of this.#streams.entries()) {
      const result = (await this.#o.blocking.xreadgroupBuffer('GROUP', GROUP, this.#o.consumer, 'COUNT', left, 'STREAMS', stream, '>')) as
        | [Buffer, Entries][]
        | null;
      const entries = result?.[0]?.[1] ?? [];
      this.#accept(cls, entries, () => 1);
      left -= entries.length;
      if (left <= 0) break;
    }
    this.#backlog = left <= 0;
  }

  /** The group reads every entry from the first (added before any worker came, too); creating it again is harmless. */
  async #createGroups(): Promise<void> {
    for (const stream of this.#streams) {
      await this.#o.redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch((error: Error) => {
        if (!error.message.includes('BUSYGROUP')) this.#o.logger.warn({ err: error, stream }, 'could not create the consumer group');
      });
    }
  }

  #accept(priorityClass: number, entries: Entries, attempt: (entryId: string) => number): void {
    for (const [rawId, fields] of entries) {
      const entryId = rawId.toString();
      if (this.#inHand.has(entryId) || !fields) continue;
      this.#inHand.set(entryId, priorityClass);
      this.#ready.push({ priorityClass, entryId, fields, attempt: attempt(entryId) });
    }
    // Best class first; within one, in the order added (entry ids grow).
    this.#ready.sort((a, b) => a.priorityClass - b.priorityClass);
  }

  #pump(): void {
    while (this.#open && this.#running < this.#o.concurrency && this.#ready.length > 0) {
      const taken = this.#ready.shift()!;
      this.#running += 1;
      void this.#run(taken).finally(() => {
        this.#running -= 1;
        this.#inHand.delete(taken.entryId);
        if (this.#running === 0 && !this.#open) this.#idle?.();
        this.#pump();
        this.#wake?.();
      });
    }
  }

  async #run(taken: Taken): Promise<void> {
    const stream = this.#streams[taken.priorityClass]!;
    const entry = readEntry(taken.fields);
    try {
      if (!entry) {
        this.#o.logger.error({ queue: this.#o.queue, entryId: taken.entryId }, 'unreadable job entry dropped');
        await this.#finish(stream, taken, undefined);
        return;
      }
      let { data } = entry;
      if (taken.attempt > 1) {
        const answered = new Set(await this.#o.redis.smembers(this.#o.keys.answeredItems(this.#o.queue, entry.jobId)));
        data = { ...data, requests: data.requests.filter((request) => !answered.has(String(request.item))) };
      }
      const job: StreamJob = { queue: this.#o.queue, jobId: entry.jobId, data, addedAt: entry.addedAt, attempt: taken.attempt };
      if (taken.attempt > this.#o.attempts) {
        await this.#o.exhausted(
          job,
          `inference_failed: the job was taken ${taken.attempt - 1} times and never finished (its workers stopped)`,
        );
        await this.#finish(stream, taken, job);
        return;
      }
      if (data.requests.length === 0) {
        await this.#finish(stream, taken, job);
        return;
      }
      const outcome = await this.#o.process(job);
      if (!outcome.retry) await this.#finish(stream, taken, job, outcome.reply);
      else if (taken.attempt < this.#o.attempts) await this.#backOff(stream, taken, job, outcome);
      else {
        if (outcome.reply) await this.#o.replies.send(outcome.reply.key, outcome.reply.reply);
        const items = new Set(outcome.retry.items);
        await this.#o.exhausted(
          { ...job, data: { ...data, requests: data.requests.filter((r) => items.has(r.item)) } },
          outcome.retry.reason,
        );
        await this.#finish(stream, taken, job);
      }
    } catch (error) {
      // Left in this worker's pending list: taken back soon if a connection failed, else taken over once idle past the lock.
      this.#cutAt = Date.now();
      this.#o.logger.warn({ err: error, queue: this.#o.queue, entryId: taken.entryId }, 'job not finished; it will be taken over');
    }
  }

  /**
   * Reply (if any), XACK and XDEL together: one round trip on a single Redis. On a Cluster, a MULTI
   * left unsettled (settledWithin) fails the finish: the job leaves this worker's hand, its lease is
   * no longer renewed, and it is taken back and run again instead of held for ever.
   */
  async #finish(stream: string, taken: Taken, job: StreamJob | undefined, reply?: StreamOutcome['reply']): Promise<void> {
    const multi = this.#o.redis.multi();
    if (reply) await this.#withReply(multi, reply);
    multi.xack(stream, GROUP, taken.entryId).xdel(stream, taken.entryId);
    if (job && taken.attempt > 1) multi.del(this.#o.keys.answeredItems(this.#o.queue, job.jobId));
    check(await settledWithin(this.#o.redis, multi.exec()));
  }

  /** The job waits out its backoff held by BACKING_OFF; items answered already are remembered, so the retry skips them. */
  async #backOff(stream: string, taken: Taken, job: StreamJob, outcome: StreamOutcome): Promise<void> {
    const due = Date.now() + this.#o.backoffMs * 2 ** (taken.attempt - 1);
    const multi = this.#o.redis.multi();
    if (outcome.reply) {
      await this.#withReply(multi, outcome.reply);
      const answered = this.#o.keys.answeredItems(this.#o.queue, job.jobId);
      multi.sadd(answered, ...outcome.reply.reply.items.map((item) => String(item.item))).pexpire(answered, ANSWERED_TTL_MS);
    }
    multi
      .xclaim(stream, GROUP, BACKING_OFF, 0, taken.entryId, 'JUSTID')
      .zadd(this.#o.keys.retries(this.#o.queue), due, `${taken.priorityClass} ${taken.entryId} ${taken.attempt}`);
    check(await settledWithin(this.#o.redis, multi.exec()));
  }

  /** On a single Redis the reply joins the MULTI; in a Cluster it lives in another slot, so it is written first. */
  async #withReply(multi: ChainableCommander, reply: NonNullable<StreamOutcome['reply']>): Promise<void> {
    if (this.#o.redis.isCluster) await this.#o.replies.send(reply.key, reply.reply);
    else this.#o.replies.appendTo(multi, reply.key, reply.reply);
  }

  /** Keeps the jobs in hand from looking stalled (JUSTID: the delivery count stays). */
  async #renewLeases(): Promise<void> {
    if (this.#inHand.size === 0) return;
    const byClass = new Map<number, string[]>();
    for (const [entryId, cls] of this.#inHand) byClass.set(cls, [...(byClass.get(cls) ?? []), entryId]);
    const pipeline = this.#o.redis.pipeline();
    for (const [cls, ids] of byClass) pipeline.xclaim(this.#streams[cls]!, GROUP, this.#o.consumer, 0, ...ids, 'JUSTID');
    await pipeline.exec();
  }

  /** Takes over jobs whose worker stopped renewing them (and backing-off jobs whose promoter died). */
  async #reclaimStalled(): Promise<void> {
    this.#checks += 1;
    if (this.#checks % FORGET_EVERY_CHECKS === 0) await this.#forgetGoneConsumers();
    let room = this.#o.concurrency - this.#inHand.size;
    if (room <= 0) return;
    const lock = this.#o.lockDurationMs;
    const longestBackoff = this.#o.backoffMs * 2 ** Math.max(0, this.#o.attempts - 1);
    const pipeline = this.#o.redis.pipeline();
    for (const stream of this.#streams) pipeline.xpending(stream, GROUP, 'IDLE', lock, '-', '+', 100);
    const results = (await pipeline.exec()) ?? [];
    for (const [cls, stream] of this.#streams.entries()) {
      const [error, rows] = results[cls] ?? [];
      if (error || !Array.isArray(rows)) continue; // NOGROUP: nothing was ever read there
      const deliveries = new Map<string, number>();
      const stalled: string[] = [];
      const parked: string[] = [];
      for (const [entryId, consumer, idle, count] of rows as [string, string, number, number][]) {
        if (this.#inHand.has(entryId)) continue;
        if (consumer !== BACKING_OFF) stalled.push(entryId);
        else if (idle > lock + longestBackoff) parked.push(entryId);
        else continue;
        deliveries.set(entryId, Number(count));
      }
      for (const [ids, minIdle] of [
        [stalled, lock],
        [parked, lock + longestBackoff],
      ] as const) {
        const take = ids.slice(0, room);
        if (take.length === 0) continue;
        const claimed = (await this.#o.redis.callBuffer('XCLAIM', stream, GROUP, this.#o.consumer, minIdle, ...take)) as Entries;
        room -= claimed.length;
        if (claimed.length > 0) this.#o.logger.warn({ queue: this.#o.queue, jobs: claimed.length }, 'took over stalled jobs');
        this.#accept(cls, claimed, (entryId) => (deliveries.get(entryId) ?? 1) + 1);
      }
    }
    this.#pump();
  }

  /**
   * Entries Redis delivered to this worker that it does not hold: a blocking read cut after Redis
   * answered it (ioredis sends the read again on the new connection, which brings only new
   * entries), or a finish that failed. Without this they would wait for the stalled-job check,
   * a lock's length later. Idle past LOST_DELIVERY_IDLE_MS, so a read's answer still on its way
   * is not taken twice; claimed with that idle time as the condition, like a take-over.
   */
  async #takeBackLost(): Promise<void> {
    let room = this.#o.concurrency - this.#inHand.size;
    if (room <= 0) return;
    const pipeline = this.#o.redis.pipeline();
    for (const stream of this.#streams) pipeline.xpending(stream, GROUP, 'IDLE', LOST_DELIVERY_IDLE_MS, '-', '+', room, this.#o.consumer);
    const results = (await pipeline.exec()) ?? [];
    for (const [cls, stream] of this.#streams.entries()) {
      const [error, rows] = results[cls] ?? [];
      if (error || !Array.isArray(rows) || room <= 0) continue;
      const deliveries = new Map<string, number>();
      for (const [entryId, , , count] of rows as [string, string, number, number][])
        if (!this.#inHand.has(entryId)) deliveries.set(entryId, Number(count));
      const take = [...deliveries.keys()].slice(0, room);
      if (take.length === 0) continue;
      const claimed = (await this.#o.redis.callBuffer(
        'XCLAIM',
        stream,
        GROUP,
        this.#o.consumer,
        LOST_DELIVERY_IDLE_MS,
        ...take,
      )) as Entries;
      room -= claimed.length;
      if (claimed.length > 0)
        this.#o.logger.warn({ queue: this.#o.queue, jobs: claimed.length }, 'took back jobs delivered but not received');
      // The delivery that never arrived counted as an attempt; this one is the next.
      this.#accept(cls, claimed, (entryId) => (deliveries.get(entryId) ?? 1) + 1);
    }
    this.#pump();
  }

  /**
   * Worker names change at every start, and a group keeps every consumer it has seen: those
   * holding nothing and silent for an hour are gone (a live one reads at least every second).
   */
  async #forgetGoneConsumers(): Promise<void> {
    for (const stream of this.#streams) {
      const consumers = (await this.#o.redis.xinfo('CONSUMERS', stream, GROUP).catch(() => [])) as unknown[][];
      for (const fields of consumers) {
        const field = (name: string): unknown => fields[fields.indexOf(name) + 1];
        const name = String(field('name'));
        if (name === this.#o.consumer || name === BACKING_OFF) continue;
        if (Number(field('pending')) === 0 && Number(field('idle')) > (this.#o.forgetConsumersAfterMs ?? 3_600_000))
          await this.#o.redis.xgroup('DELCONSUMER', stream, GROUP, name);
      }
    }
  }

  /** Retries whose backoff is over: each taken by exactly one worker. */
  async #promoteDue(): Promise<void> {
    const room = this.#o.concurrency - this.#inHand.size;
    if (room <= 0) return;
    const retries = this.#o.keys.retries(this.#o.queue);
    const due = await this.#o.redis.zrangebyscore(retries, '-inf', Date.now(), 'LIMIT', 0, room);
    for (const member of due) {
      const [cls, entryId, attempt] = member.split(' ');
      const stream = this.#streams[Number(cls)];
      if (!stream || !entryId) {
        await this.#o.redis.zrem(retries, member);
        continue;
      }
      const claimed = (await this.#o.redis.callBuffer(
        'EVAL',
        PROMOTE,
        2,
        retries,
        stream,
        member,
        GROUP,
        this.#o.consumer,
        entryId,
      )) as Entries | null;
      if (claimed) this.#accept(Number(cls), claimed, () => Number(attempt) + 1);
    }
    this.#pump();
  }

  /** Entries taken but not started when closing: made idle past the lock, so another worker takes them at its next check. */
  async #handBack(unstarted: readonly Taken[]): Promise<void> {
    if (unstarted.length === 0) return;
    const pipeline = this.#o.redis.pipeline();
    for (const taken of unstarted) {
      const stream = this.#streams[taken.priorityClass]!;
      pipeline.call('XCLAIM', stream, GROUP, this.#o.consumer, 0, taken.entryId, 'IDLE', this.#o.lockDurationMs, 'JUSTID');
    }
    await pipeline.exec();
  }
}

function check(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('the finishing MULTI was discarded');
  const failed = results.find(([error]) => error)?.[0];
  if (failed) throw failed;
}
