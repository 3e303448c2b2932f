import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Reply } from './job-codec.js';
import { sendInOneWrite, type CommandLine } from './one-write.js';
import type { RedisClient } from './redis-connection.js';

/** Longest a reply stream is kept once nothing writes to it (a gateway that died). */
const STREAM_TTL_MS = 120_000;
const STREAM_MAX_ENTRIES = 10_000;
/** The reader trims what it has read every this many entries. */
const TRIM_EVERY = 100;
/** Most replies one read brings. */
const READ_COUNT = 1000;

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
  readonly #renewedAt = new Map<string, number>();

  constructor(redis: RedisClient, renewEveryMs = EXPIRY_RENEW_MS) {
    this.#redis = redis;
    this.#renewEveryMs = renewEveryMs;
  }

  /**
   * Adds the reply's commands to a MULTI or pipeline of the caller's (the streams engine finishes
   * a job in the same MULTI). Single Redis only: the reply stream has no queue's hash tag.
   */
  appendTo(chain: ChainableCommander, streamKey: string, reply: Reply): void {
    for (const [name, ...args] of this.commands(streamKey, reply)) chain.call(name, ...args);
  }

  /** The reply's commands as command lines (the XADD, and the expiry when due), for one-write.ts. */
  commands(streamKey: string, reply: Reply): CommandLine[] {
    const lines: CommandLine[] = [['xadd', streamKey, 'MAXLEN', '~', String(STREAM_MAX_ENTRIES), '*', 'reply', JSON.stringify(reply)]];
    const now = Date.now();
    const renewedAt = this.#renewedAt.get(streamKey);
    if (renewedAt !== undefined && now - renewedAt < this.#renewEveryMs) return lines;
    lines.push(['pexpire', streamKey, STREAM_TTL_MS]);
    if (this.#renewedAt.size >= REMEMBERED_STREAMS) this.#renewedAt.clear();
    this.#renewedAt.set(streamKey, now);
    return lines;
  }

  /** Rejects if Redis refused the entry, so the job fails and is retried instead of its answers going missing. */
  async send(streamKey: string, reply: Reply): Promise<void> {
    const entry = JSON.stringify(reply);
    const now = Date.now();
    const renewedAt = this.#renewedAt.get(streamKey);
    if (renewedAt !== undefined && now - renewedAt < this.#renewEveryMs) {
      await this.#redis.xadd(streamKey, 'MAXLEN', '~', String(STREAM_MAX_ENTRIES), '*', 'reply', entry);
      return;
    }
    // No MULTI: the expiry need not be atomic with the entry. Pipeline errors come back per
    // command, so they are checked here.
    const results = await this.#redis
      .pipeline()
      .xadd(streamKey, 'MAXLEN', '~', String(STREAM_MAX_ENTRIES), '*', 'reply', entry)
      .pexpire(streamKey, STREAM_TTL_MS)
      .exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
    if (this.#renewedAt.size >= REMEMBERED_STREAMS) this.#renewedAt.clear();
    this.#renewedAt.set(streamKey, now);
  }
}

/**
 * Gateway side: one blocking reader per gateway instance. Resumes from the last entry
 * it saw after any error, so replies written while it was disconnected still arrive.
 * It reads only while replies are awaited (`awaited`): an idle gateway keeps no read waiting,
 * and the job that ends the idleness goes out in the same write as the read (readAfter).
 */
export class ReplyReader {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #onReply: (reply: Reply) => void;
  readonly #logger: Logger;
  readonly #awaited: () => boolean;
  #lastId = '$';
  #readSinceTrim = 0;
  #running = false;
  #failing = false;
  /** The read in flight (or the pause after a failed one). */
  #reading: Promise<void> | undefined;
  /** Called after the reader recovers from an error, for the fallback lookup. */
  onRecovered: () => void = () => undefined;
  /** Epoch ms when the last read that succeeded was sent: every reply written before then has been delivered. */
  caughtUpTo = 0;

  /** `awaited`: whether any reply is awaited; by default always (a read is kept waiting). */
  constructor(redis: RedisClient, key: string, onReply: (reply: Reply) => void, logger: Logger, awaited: () => boolean = () => true) {
    this.#redis = redis;
    this.#key = key;
    this.#onReply = onReply;
    this.#logger = logger;
    this.#awaited = awaited;
  }

  /**
   * Starts reading from the beginning: the stream belongs to this gateway instance alone
   * (its id is new at every start), so nothing in it predates the reader. Needs no Redis
   * round trip, so a gateway can start while Redis is down.
   */
  start(): void {
    this.#lastId = '0-0';
    this.#running = true;
    this.wake();
  }

  /** No read in flight. */
  get idle(): boolean {
    return this.#reading === undefined;
  }

  /** A reply is awaited: reads, unless a read is in flight already. */
  wake(): void {
    if (this.#running && this.#reading === undefined && this.#awaited()) this.#read([]);
  }

  /**
   * With no read in flight, sends `commands` and then the read in one write (Redis reads both with
   * one wake-up) and returns the commands' answers; otherwise undefined, and the caller sends them
   * itself. Single Redis and Sentinel, with the connection up (a Cluster would route by key).
   */
  readAfter(commands: readonly CommandLine[]): Promise<unknown>[] | undefined {
    if (!this.#running || this.#reading !== undefined || this.#redis.isCluster || this.#redis.status !== 'ready') return undefined;
    return this.#read(commands);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#redis.disconnect();
    // A read queued while Redis was unreachable is never settled by ioredis once the
    // connection is dropped, so the read is not waited for beyond its own 1 s block.
    await Promise.race([this.#reading, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  #read(before: readonly CommandLine[]): Promise<unknown>[] {
    const sentAt = Date.now();
    const lines = [...before];
    // Entries read are done with: trimmed (in the next read's write), so the stream holds only unread replies.
    if (this.#readSinceTrim >= TRIM_EVERY) {
      lines.push(['xtrim', this.#key, 'MINID', this.#lastId]);
      this.#readSinceTrim = 0;
    }
    lines.push(['xread', 'COUNT', READ_COUNT, 'BLOCK', 1000, 'STREAMS', this.#key, this.#lastId]);
    // A Cluster routes each command by its key: sent one by one there (readAfter fuses nothing in one).
    const answers =
      this.#redis.isCluster || lines.length === 1
        ? lines.map(([name, ...args]) => this.#redis.call(name, ...args))
        : sendInOneWrite(this.#redis as Redis, lines);
    for (const answer of answers.slice(before.length, -1)) answer.catch(() => undefined);
    this.#reading = this.#receive(answers.at(-1)!, sentAt).finally(() => {
      this.#reading = undefined;
      this.wake();
    });
    return answers.slice(0, before.length);
  }

  async #receive(answer: Promise<unknown>, sentAt: number): Promise<void> {
    try {
      const result = (await answer) as [string, [string, string[]][]][] | null;
      if (this.#failing) {
        this.#failing = false;
        this.#logger.info('reply stream reader recovered');
        this.onRecovered();
      }
      let read = 0;
      for (const [, entries] of result ?? []) {
        for (const [id, fields] of entries) {
          this.#lastId = id;
          this.#deliver(fields);
          read += 1;
        }
      }
      // A full page may leave replies unread; a partial one saw all that were there when it was sent.
      if (read < READ_COUNT) this.caughtUpTo = sentAt;
      this.#readSinceTrim += read;
    } catch (error) {
      if (!this.#running) return;
      if (!this.#failing) this.#logger.warn({ err: error }, 'reply stream read failed; retrying');
      this.#failing = true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  #deliver(fields: string[]): void {
    const raw = fields[fields.indexOf('reply') + 1];
    if (raw === undefined) return;
    try {
      this.#onReply(JSON.parse(raw) as Reply);
    } catch (error) {
      this.#logger.error({ err: error }, 'unreadable reply');
    }
  }
}
