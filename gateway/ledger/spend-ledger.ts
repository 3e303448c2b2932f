import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { settledWithin } from '../../workers/queue/settled-within.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import { PICO } from '../budget/budget-store.js';
import { WriteBehind } from '../support/write-behind.js';

export interface SpendEntry {
  readonly day: string;
  readonly tenant: string;
  readonly model: string;
  readonly version: string;
  readonly requests: number;
  readonly usd: number;
}

export interface SpendQuery {
  readonly from: string;
  readonly to: string;
  readonly tenant?: string;
  readonly model?: string;
}

/** Spend per tenant, model version and UTC day, in picodollars. */
export interface SpendLedger {
  record(tenant: string, model: string, version: string, costPico: number, at?: Date): Promise<void>;
  query(query: SpendQuery): Promise<SpendEntry[]>;
  /** Writes anything still buffered. */
  flush(): Promise<void>;
}

const SEP = '\t';

function* days(from: string, to: string): Generator<string> {
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end; t += 86_400_000) yield new Date(t).toISOString().slice(0, 10);
}

function entriesOf(day: string, fields: Record<string, string>, query: SpendQuery): SpendEntry[] {
  const out: SpendEntry[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (!field.endsWith(`${SEP}pico`)) continue;
    const [tenant = '', model = '', version = ''] = field.split(SEP);
    if ((query.tenant && tenant !== query.tenant) || (query.model && model !== query.model)) continue;
    const requests = Number(fields[`${tenant}${SEP}${model}${SEP}${version}${SEP}n`] ?? 0);
    out.push({ day, tenant, model, version, requests, usd: Number(value) / PICO });
  }
  return out;
}

/** A UTC day's name (YYYY-MM-DD), kept for the day it names: every call charged that day asks for it. */
class DayName {
  #start = 0;
  #end = 0;
  #name = '';

  of(at: Date | undefined): string {
    const time = at === undefined ? Date.now() : at.getTime();
    if (time < this.#start || time >= this.#end) {
      this.#start = time - (time % 86_400_000);
      this.#end = this.#start + 86_400_000;
      this.#name = new Date(this.#start).toISOString().slice(0, 10);
    }
    return this.#name;
  }
}

export class MemorySpendLedger implements SpendLedger {
  /** Per day, per tenant/model/version, picodollars and requests: numbers, summed in place. */
  readonly #days = new Map<string, Map<string, { pico: number; n: number }>>();
  readonly #day = new DayName();

  async flush(): Promise<void> {}

  async record(tenant: string, model: string, version: string, costPico: number, at?: Date): Promise<void> {
    const day = this.#day.of(at);
    let totals = this.#days.get(day);
    if (totals === undefined) this.#days.set(day, (totals = new Map()));
    const base = `${tenant}${SEP}${model}${SEP}${version}`;
    const total = totals.get(base);
    if (total === undefined) totals.set(base, { pico: costPico, n: 1 });
    else {
      total.pico += costPico;
      total.n += 1;
    }
  }

  async query(query: SpendQuery): Promise<SpendEntry[]> {
    return [...days(query.from, query.to)].flatMap((day) => {
      const fields: Record<string, string> = {};
      for (const [base, total] of this.#days.get(day) ?? []) {
        fields[`${base}${SEP}pico`] = String(total.pico);
        fields[`${base}${SEP}n`] = String(total.n);
      }
      return entriesOf(day, fields, query);
    });
  }
}

/** Ledger days are kept a little over a year. */
const LEDGER_TTL_SECONDS = 400 * 86_400;

interface Charge {
  readonly key: string;
  readonly base: string;
  readonly costPico: number;
}

/** Distributed mode: one hash per day; charges are summed in memory and written in batches. */
export class RedisSpendLedger implements SpendLedger {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #buffer: WriteBehind<Charge>;

  constructor(redis: RedisClient, prefix: string, onError: (error: unknown) => void) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
    this.#buffer = new WriteBehind(async (charges) => {
      const sums = new Map<string, { key: string; base: string; pico: number; n: number }>();
      for (const charge of charges) {
        const id = `${charge.key}${SEP}${charge.base}`;
        const sum = sums.get(id) ?? { key: charge.key, base: charge.base, pico: 0, n: 0 };
        sum.pico += charge.costPico;
        sum.n += 1;
        sums.set(id, sum);
      }
      const pipeline = this.#redis.multi();
      for (const sum of sums.values()) {
        pipeline
          .hincrby(sum.key, `${sum.base}${SEP}pico`, sum.pico)
          .hincrby(sum.key, `${sum.base}${SEP}n`, sum.n)
          .expire(sum.key, LEDGER_TTL_SECONDS);
      }
      // Bounded on a Cluster (settledWithin): batches are written one after another, so one left
      // unsettled would hold every later one back.
      await settledWithin(this.#redis, pipeline.exec());
    }, onError);
  }

  async record(tenant: string, model: string, version: string, costPico: number, at = new Date()): Promise<void> {
    this.#buffer.add({ key: this.#keys.ledger(at.toISOString().slice(0, 10)), base: `${tenant}${SEP}${model}${SEP}${version}`, costPico });
  }

  flush(): Promise<void> {
    return this.#buffer.flush();
  }

  async query(query: SpendQuery): Promise<SpendEntry[]> {
    await this.flush();
    const list = [...days(query.from, query.to)];
    const pipeline = this.#redis.pipeline();
    for (const day of list) pipeline.hgetall(this.#keys.ledger(day));
    const results = (await pipeline.exec()) ?? [];
    return list.flatMap((day, i) => entriesOf(day, (results[i]?.[1] as Record<string, string>) ?? {}, query));
  }
}
