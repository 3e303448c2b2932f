import type { KeyCensus } from './redis-key-groups.js';
import type { RedisSample } from './redis-sampler.js';

/** The whole picture at one moment: server memory, and every key under the prefix with its size. */
export interface Snapshot {
  readonly second: number;
  readonly usedMemoryBytes: number;
  readonly census: KeyCensus;
  /** As RedisSample.entries: XLEN, ZCARD, ... of the shapes of a few keys. */
  readonly entries: Record<string, number>;
}

export interface GroupGrowth {
  readonly group: string;
  readonly start: number;
  /** Means over the second and the last quarter of the load's samples. */
  readonly secondQuarterMean: number;
  readonly lastQuarterMean: number;
  readonly peak: number;
  readonly endOfLoad: number;
  readonly afterCleanup: number;
  /** Last quarter's mean more than 20 % (and some slack) above the second quarter's. */
  readonly growingUnderLoad: boolean;
  /** After the retention wait and the cleanup requests, no more than those requests account for. */
  readonly released: boolean;
  /** Growing under load and not released: nothing bounded it within this run. */
  readonly unbounded: boolean;
}

export interface Boundedness {
  readonly bounded: boolean;
  /** Key counts per shape. */
  readonly keyGroups: GroupGrowth[];
  /** Entries inside the few-of-a-kind keys (streams, zsets, ...), by shape. */
  readonly collections: GroupGrowth[];
  /** used_memory means over the second and last quarter of the load (whole server: a hint, not the verdict). */
  readonly usedMemorySecondQuarterMeanBytes: number;
  readonly usedMemoryLastQuarterMeanBytes: number;
  readonly conclusion: string[];
}

/**
 * Means, not points, so a shared machine's throughput swings (retention by age keeps
 * rate x seconds jobs) do not read as a leak; a key left behind per request grows
 * ~2.3x between those quarters.
 */
const stillGrowing = (second: number, last: number, slack: number): boolean => last > second * 1.2 + slack;

const meanOf = (values: readonly number[]): number => (values.length === 0 ? 0 : Math.round(values.reduce((a, b) => a + b, 0) / values.length));

interface Moments {
  readonly all: readonly RedisSample[];
  readonly start: RedisSample;
  readonly secondQuarter: readonly RedisSample[];
  readonly lastQuarter: readonly RedisSample[];
  readonly end: RedisSample;
  readonly cleanup: RedisSample;
}

function growthOf(group: string, read: (sample: RedisSample) => number, at: Moments, releaseLimit: number, slack: number): GroupGrowth {
  const secondQuarterMean = meanOf(at.secondQuarter.map(read));
  const lastQuarterMean = meanOf(at.lastQuarter.map(read));
  const afterCleanup = read(at.cleanup);
  const growingUnderLoad = stillGrowing(secondQuarterMean, lastQuarterMean, slack);
  const released = afterCleanup <= releaseLimit;
  return {
    group,
    start: read(at.start),
    secondQuarterMean,
    lastQuarterMean,
    peak: Math.max(...at.all.map(read)),
    endOfLoad: read(at.end),
    afterCleanup,
    growingUnderLoad,
    released,
    unbounded: growingUnderLoad && !released,
  };
}

function describe(g: GroupGrowth, what: string): string {
  return `\`${g.group}\` ${what}: mean ${g.secondQuarterMean} in the load's second quarter -> ${g.lastQuarterMean} in its last, peak ${g.peak}, ${g.afterCleanup} after the retention wait and cleanup requests`;
}

/**
 * A shape is unbounded when it was still growing late in the load AND it did not
 * shrink back once results outlived their retention and a few new jobs finished
 * (BullMQ removes old jobs lazily, when later jobs finish). Shapes that grow under
 * load but are released are bounded by rate x retention; shapes that stop growing
 * are bounded by a cap (a stream's MAXLEN, a count limit) whether or not released.
 */
export function analyse(samples: readonly RedisSample[], cleanupRequests: number): Boundedness {
  const load = samples.filter((s) => s.phase === 'load');
  const start = samples.find((s) => s.phase === 'start') ?? samples[0]!;
  const quarter = Math.max(1, Math.floor(load.length / 4));
  const at: Moments = {
    all: samples,
    start,
    secondQuarter: load.slice(quarter, 2 * quarter),
    lastQuarter: load.slice(-quarter),
    end: load[load.length - 1] ?? start,
    cleanup: samples.filter((s) => s.phase === 'after cleanup').at(-1) ?? samples[samples.length - 1]!,
  };
  const releaseLimit = cleanupRequests + 10;
  const byPeak = (a: GroupGrowth, b: GroupGrowth): number => b.peak - a.peak;
  const groupNames = [...new Set(samples.flatMap((s) => Object.keys(s.keysByGroup)))];
  const keyGroups = groupNames.map((g) => growthOf(g, (s) => s.keysByGroup[g] ?? 0, at, releaseLimit, 10)).sort(byPeak);
  const collectionNames = [...new Set(samples.flatMap((s) => Object.keys(s.entries)))];
  const collections = collectionNames.map((c) => growthOf(c, (s) => s.entries[c] ?? 0, at, releaseLimit, 100)).sort(byPeak);

  const unbounded = [...keyGroups.filter((g) => g.unbounded).map((g) => describe(g, 'key count')), ...collections.filter((g) => g.unbounded).map((g) => describe(g, 'entries'))];
  const bounded = unbounded.length === 0;
  const conclusion = bounded
    ? [
        `Bounded: over ${load.length} one-second samples under load, every key shape under the prefix and every stream or set inside a key ` +
          'either stopped growing (less than 20 % from the second quarter of the load to the last) or was released after the retention wait and cleanup requests.',
      ]
    : unbounded.map((line) => `Not bounded within this run: ${line}.`);
  const retained = keyGroups.filter((g) => !g.released && g.peak > releaseLimit);
  for (const g of retained) conclusion.push(`Not released after the retention wait (bounded by a cap, not by age): ${describe(g, 'key count')}.`);
  const usedMemorySecondQuarterMeanBytes = meanOf(at.secondQuarter.map((s) => s.usedMemoryBytes));
  const usedMemoryLastQuarterMeanBytes = meanOf(at.lastQuarter.map((s) => s.usedMemoryBytes));
  if (stillGrowing(usedMemorySecondQuarterMeanBytes, usedMemoryLastQuarterMeanBytes, 1 << 20)) {
    conclusion.push(
      `Server-wide used_memory still rose late in the load (mean ${usedMemorySecondQuarterMeanBytes} -> ${usedMemoryLastQuarterMeanBytes} B)` +
        (bounded ? '; no key under the prefix did, so other users of this Redis, client buffers or allocator effects.' : '.'),
    );
  }
  return { bounded, keyGroups, collections, usedMemorySecondQuarterMeanBytes, usedMemoryLastQuarterMeanBytes, conclusion };
}
