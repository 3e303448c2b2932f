import type { ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';
import { decodeReply, encodeReply, type Reply } from './job-codec.js';
import type { RedisClient } from './redis-connection.js';
import { CLUSTER_TRANSACTION_SETTLE_MS, settledWithin } from './settled-within.js';

/** Longest a reply stream is kept once nothing writes to it (a gateway that died). */
const STREAM_TTL_MS = 120_000;
const STREAM_MAX_ENTRIES = 10_000;
/** The reader trims what it has read every this many entries (and whenever it goes idle). */
const TRIM_EVERY = 100;

/** A reply entry's fields: its JSON, and the outputs' bytes where it has them (encodeReply). */
const replyFields = (json: string, bytes: Buffer | undefined): (string | Buffer)[] =>
  bytes ? ['reply', json, 'data', bytes] : ['reply', json];

/** How long a worker trusts the expiry it last set on a stream; far below STREAM_TTL_MS. */
export const EXPIRY_RENEW_MS = 10_000;
/** Streams whose expiry a worker remembers; gateway ids change at every restart, so it is bounded. */
const REMEMBERED_STREAMS = 1_000;

/**
 * Worker side: appends replies to the waiting gateway's own stream. One stream per
 * gateway instance, so a gateway reads only its own results; a stream (unlike pub/sub)
 * keeps entries across a dropped connection, so a reconnecting reader loses nothing.
 * The expiry (for a gateway that died) is renewed with the entry at most every 10 s, not
 * with every reply: one command per job instead of a two-command pipeline, whose overhead
 * showed in the worker's profile.
 */
export class ReplySender {
  readonly #redis: RedisClient;
  readonly #renewEveryMs: number;
  readonly #settleMs: number;
  readonly #renewedAt = new Map<string, number>();

  constructor(redis: RedisClient, renewEveryMs = EXPIRY_RENEW_MS, settleMs = CLUSTER_TRANSACTION_SETTLE_MS) {
    this.#redis = redis;
    this.#renewEveryMs = renewEveryMs;
    this.#settleMs = settleMs;
  }

  /**
   * Adds the reply's commands to a MULTI or pipeline of the caller's (the streams engine finishes
   * a job in the same MULTI). Single Redis only: the reply stream has no queue's hash tag.
   */
  appendTo(chain: ChainableCommander, streamKey: string, reply: Reply): void {
    const { json, bytes } = encodeReply(reply);
    chain.xadd(streamKey, 'MAXLEN', '~', String(STREAM_MAX_ENTRIES), '*', ...replyFields(json, bytes));
    const now = Date.now();
    const renewedAt = this.#renewedAt.get(streamKey);
    if (renewedAt !== undefined && now - renewedAt < this.#renewEveryMs) return;
    chain.pexpire(streamKey, STREAM_TTL_MS);
    if (this.#renewedAt.size >= REMEMBERED_STREAMS) this.#renewedAt.clear();
    this.#renewedAt.set(streamKey, now);
  }

  /**
   * Rejects if Redis refused the entry, so the job fails and is retried instead of its answers going
   * missing; on a Cluster also if it is left unsettled (settledWithin), which would otherwise hold the
   * job's finish, and its lease, for ever.
   */
  async send(streamKey: string, reply: Reply): Promise<void> {
    const { json, bytes } = encodeReply(reply);
    const now = Date.now();
    const renewedAt = this.#renewedAt.get(streamKey);
    if (renewedAt !== undefined && now - renewedAt < this.#renewEveryMs) {
      await settledWithin(
        this.#redis,
        this.#redis.xadd(streamKey, 'MAXLEN', '~', String(STREAM_MAX_ENTRIES), '*', ...replyFields(json, bytes)),
        this.#settleMs,
      );
      return;
    }
    // No MULTI: the expiry need not be atomic with the entry. Pipeline errors come back per
    // command, so they are checked here.
    const results = await settledWithin(
      this.#redis,
      this.#redis
        .pipeline()
        .xadd(streamKey, 'MAXLEN', '~', String(STREAM_MAX_ENTRIES), '*', ...replyFields(json, bytes))
        .pexpire(streamKey, STREAM_TTL_MS)
        .exec(),
    );
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
    if (this.#renewedAt.size >= REMEMBERED_STREAMS) this.#renewedAt.clear();
    this.#renewedAt.set(streamKey, now);
  }
}

/**
 * Gateway side: one blocking reader per gateway instance. Resumes from the last entry
 * it saw after any error, so replies written while it was disconnected still arrive.
 */
export class ReplyReader {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #onReply: (reply: Reply) => void;
  readonly #logger: Logger;
  #lastId = '$';
  #readSinceTrim = 0;
  #running = false;
  #stopped: Promise<void> | undefined;
  /** Called after the reader recovers from an error, for the fallback lookup. */
  onRecovered: () => void = () => undefined;
  /** Epoch ms when the last read that succeeded was sent: every reply written before then has been delivered. */
  caughtUpTo = 0;

  constructor(redis: RedisClient, key: string, onReply: (reply: Reply) => void, logger: Logger) {
    this.#redis = redis;
    this.#key = key;
    this.#onReply = onReply;
    this.#logger = logger;
  }

  /**
   * Starts reading from the beginning: the stream belongs to this gateway instance alone
   * (its id is new at every start), so nothing in it predates the reader. Needs no Redis
   * round trip, so a gateway can start while Redis is down.
   */
  start(): void {
    this.#lastId = '0-0';
    this.#running = true;
    this.#stopped = this.#loop();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#redis.disconnect();
    // A read queued while Redis was unreachable is never settled by ioredis once the
    // connection is dropped, so the loop is not waited for beyond its read's own 1 s block.
    await Promise.race([this.#stopped, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  async #loop(): Promise<void> {
    let failing = false;
    while (this.#running) {
      try {
        const sentAt = Date.now();
        // As Buffers: the outputs' bytes are binary (the ids and field names are ASCII).
        const result = await this.#redis.xreadBuffer('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', this.#key, this.#lastId);
        if (failing) {
          failing = false;
          this.#logger.info('reply stream reader recovered');
          this.onRecovered();
        }
        let read = 0;
        for (const [, entries] of result ?? []) {
          for (const [id, fields] of entries) {
            this.#lastId = id.toString();
            this.#deliver(fields);
            read += 1;
          }
        }
        // A full page may leave replies unread; a partial one saw all that were there when it was sent.
        if (read < 1000) this.caughtUpTo = sentAt;
        // Entries read are done with: trim them, so the stream holds only unread replies.
        this.#readSinceTrim += read;
        if (this.#readSinceTrim >= TRIM_EVERY || (read === 0 && this.#readSinceTrim > 0)) {
          await this.#redis.xtrim(this.#key, 'MINID', this.#lastId);
          this.#readSinceTrim = 0;
        }
      } catch (error) {
        if (!this.#running) break;
        if (!failing) this.#logger.warn({ err: error }, 'reply stream read failed; retrying');
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  #deliver(fields: Buffer[]): void {
    const field = (name: string): Buffer | undefined => {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
      return undefined;
    };
    const json = field('reply');
    if (json === undefined) return;
    try {
      this.#onReply(decodeReply(json.toString(), field('data') ?? new Uint8Array(0)));
    } catch (error) {
      this.#logger.error({ err: error }, 'unreadable reply');
    }
  }
}
