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
/** A written batch's mark outlives the retries that follow a lost answer (support/write-behind.ts). */
const BATCH_MARK_TTL_MS = 10 * 60 * 1000;

/** KEYS[1]: the batch's mark; KEYS[2..]: days; ARGV[3..]: (day's key index, field, increment) triples. */
const ADD_BATCH = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 3, #ARGV, 3 do
  local key = KEYS[tonumber(ARGV[i])]
  redis.call('HINCRBY', key, ARGV[i + 1], ARGV[i + 2])
  redis.call('EXPIRE', key, ARGV[2])
end
return 1`;

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
    this.#buffer = new WriteBehind(async (charges, batch) => {
      const sums = new Map<string, { key: string; base: string; pico: number; n: number }>();
      for (const charge of charges) {
        const id = `${charge.key}${SEP}${charge.base}`;
        const sum = sums.get(id) ?? { key: charge.key, base: charge.base, pico: 0, n: 0 };
        sum.pico += charge.costPico;
        sum.n += 1;
        sums.set(id, sum);
      }
      const days = [...new Set([...sums.values()].map((sum) => sum.key))];
      const args = [String(BATCH_MARK_TTL_MS), String(LEDGER_TTL_SECONDS)];
      for (const sum of sums.values()) {
        const day = String(days.indexOf(sum.key) + 2);
        args.push(day, `${sum.base}${SEP}pico`, String(sum.pico), day, `${sum.base}${SEP}n`, String(sum.n));
      }
      // The batch's mark shares the days' slot ({ledger}): a batch tried again after its answer was lost is not counted twice.
      const keys = [this.#keys.ledger(`batch:${batch}`), ...days];
      // Bounded on a Cluster (settledWithin): batches are written one after another, so one left
      // unsettled would hold every later one back.
      await settledWithin(this.#redis, this.#redis.eval(ADD_BATCH, keys.length, ...keys, ...args));
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
