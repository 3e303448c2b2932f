import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../workers/metrics/registry.js';
import type { CacheCounts, ResponseCache } from '../cache/response-cache.js';

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

/**
 * The response cache per model, read at scrape time: hits, misses and evictions this
 * gateway counted, and the bytes the model's entries hold (in distributed mode the shared
 * figure, the same from every gateway: aggregate it with max). Label values are model names
 * from the repository, whose config enables the cache.
 */
export function registerResponseCacheMetrics(registry: Registry, cache: ResponseCache | undefined): void {
  if (!cache) return;
  const registers = [registry];
  const counter = (suffix: string, help: string, field: keyof CacheCounts): void => {
    new Counter({
      name: name(suffix),
      help,
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const [model, counts] of cache.counts) this.inc({ model }, counts[field]);
      },
    });
  };
  counter('response_cache_hits_total', 'Inference calls answered from the response cache (nothing queued, run or charged)', 'hits');
  counter(
    'response_cache_raw_hits_total',
    'Of the hits, those answered by the request body before it was parsed (the raw index of this gateway)',
    'rawHits',
  );
  counter('response_cache_misses_total', 'Inference calls to a caching model that the cache could not answer', 'misses');
  counter('response_cache_evictions_total', 'Entries this gateway evicted to keep a model within its max_bytes', 'evictions');
  new Gauge({
    name: name('response_cache_bytes'),
    help: "Bytes a model's cached answers hold (entries and keys), against its max_bytes",
    labelNames: ['model'],
    registers,
    async collect() {
      // Redis away: the last figures stay rather than failing the whole scrape.
      const held = await cache.store.bytes().catch(() => new Map<string, number>());
      for (const [model, bytes] of held) this.set({ model }, bytes);
    },
  });
  new Gauge({
    name: name('response_cache_raw_bytes'),
    help: "Bytes this gateway's raw index holds for a model (encoded answers by request body), against its max_bytes",
    labelNames: ['model'],
    registers,
    collect() {
      for (const [model, bytes] of cache.raw.bytes()) this.set({ model }, bytes);
    },
  });
}
