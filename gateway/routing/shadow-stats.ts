import type { RedisClient } from '../../workers/queue/redis-connection.js';

/** How often a shadowed candidate agreed with the served answer, per route. */
export interface ShadowStats {
  record(route: string, agreed: boolean): Promise<void>;
  read(): Promise<Record<string, { mirrored: number; agreed: number }>>;
}

export class MemoryShadowStats implements ShadowStats {
  readonly #stats = new Map<string, { mirrored: number; agreed: number }>();

  async record(route: string, agreed: boolean): Promise<void> {
    const entry = this.#stats.get(route) ?? { mirrored: 0, agreed: 0 };
    entry.mirrored += 1;
    if (agreed) entry.agreed += 1;
    this.#stats.set(route, entry);
  }

  async read(): Promise<Record<string, { mirrored: number; agreed: number }>> {
    return Object.fromEntries(this.#stats);
  }
}

export class RedisShadowStats implements ShadowStats {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  async record(route: string, agreed: boolean): Promise<void> {
    const pipeline = this.redis.multi().hincrby(this.key, `${route}\tmirrored`, 1);
    if (agreed) pipeline.hincrby(this.key, `${route}\tagreed`, 1);
    await pipeline.exec();
  }

  async read(): Promise<Record<string, { mirrored: number; agreed: number }>> {
    const fields = await this.redis.hgetall(this.key);
    const out: Record<string, { mirrored: number; agreed: number }> = {};
    for (const [field, value] of Object.entries(fields)) {
      const [route = '', kind] = field.split('\t');
      const entry = (out[route] ??= { mirrored: 0, agreed: 0 });
      if (kind === 'mirrored') entry.mirrored = Number(value);
      else entry.agreed = Number(value);
    }
    return out;
  }
}
