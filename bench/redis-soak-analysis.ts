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
  /** Growing, then flat over the last load samples while requests still flowed: it reached a cap (MAXLEN, a count limit). */
  readonly cappedLate: boolean;
  /** Growing under load, not released and not capped: nothing bounded it within this run. */
  readonly unbounded: boolean;
}

export interface Boundedness {
  /** 'flat': nothing grew late in the load; 'bounded, not flat': what grew hit a cap or was released; else 'not bounded'. */
  readonly verdict: 'flat' | 'bounded, not flat' | 'not bounded';
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

const meanOf = (values: readonly number[]): number =>
  values.length === 0 ? 0 : Math.round(values.reduce((a, b) => a + b, 0) / values.length);

/**
 * Samples at the end of the load (1 s apart, so ~1 s of requests between them) that
 * must be flat for a growing shape to count as capped: a shape that grows per request
 * would have grown by thousands.
 */
const CAP_SAMPLES = 2;

interface Moments {
  readonly all: readonly RedisSample[];
  readonly lastLoad: readonly RedisSample[];
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
  const tail = at.lastLoad.map(read);
  const cappedLate =
    growingUnderLoad && tail.length === CAP_SAMPLES && Math.max(...tail) - Math.min(...tail) <= Math.max(10, Math.max(...tail) * 0.002);
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
    cappedLate,
    unbounded: growingUnderLoad && !released && !cappedLate,
  };
}

function describe(g: GroupGrowth, what: string): string {
  return `\`${g.group}\` ${what}: mean ${g.secondQuarterMean} in the load's second quarter -> ${g.lastQuarterMean} in its last, peak ${g.peak}, ${g.afterCleanup} after the retention wait and cleanup requests`;
}

/**
 * A shape is unbounded when it was still growing late in the load, did not stop
 * before the load ended, AND did not shrink back once results outlived their
 * retention and a few new jobs finished (BullMQ removes old jobs lazily, when later
 * jobs finish). Shapes that grow under load but are released are bounded by rate x
 * retention; shapes that stop growing are bounded by a cap (a stream's MAXLEN, a
 * count limit) whether or not released.
 */
export function analyse(samples: readonly RedisSample[], cleanupRequests: number): Boundedness {
  const load = samples.filter((s) => s.phase === 'load');
  const start = samples.find((s) => s.phase === 'start') ?? samples[0]!;
  const quarter = Math.max(1, Math.floor(load.length / 4));
  const at: Moments = {
    all: samples,
    lastLoad: load.slice(-CAP_SAMPLES),
    start,
    secondQuarter: load.slice(quarter, 2 * quarter),
    lastQuarter: load.slice(-quarter),
    end: samples.find((s) => s.phase === 'end of load') ?? load[load.length - 1] ?? start,
    cleanup: samples.filter((s) => s.phase === 'after cleanup').at(-1) ?? samples[samples.length - 1]!,
  };
  const releaseLimit = cleanupRequests + 10;
  const byPeak = (a: GroupGrowth, b: GroupGrowth): number => b.peak - a.peak;
  const groupNames = [...new Set(samples.flatMap((s) => Object.keys(s.keysByGroup)))];
  const keyGroups = groupNames.map((g) => growthOf(g, (s) => s.keysByGroup[g] ?? 0, at, releaseLimit, 10)).sort(byPeak);
  const collectionNames = [...new Set(samples.flatMap((s) => Object.keys(s.entries)))];
  const collections = collectionNames.map((c) => growthOf(c, (s) => s.entries[c] ?? 0, at, releaseLimit, 100)).sort(byPeak);

  const all = [...keyGroups.map((g) => [g, 'key count'] as const), ...collections.map((g) => [g, 'entries'] as const)];
  const unbounded = all.filter(([g]) => g.unbounded);
  const capped = all.filter(([g]) => g.cappedLate);
  const bounded = unbounded.length === 0;
  const verdict = !bounded ? 'not bounded' : all.some(([g]) => g.growingUnderLoad) ? 'bounded, not flat' : 'flat';
  const conclusion = [
    ...unbounded.map(([g, what]) => `Not bounded within this run: ${describe(g, what)}.`),
    ...capped.map(
      ([g, what]) =>
        `Grew for most of the run, then stayed flat over the last ${CAP_SAMPLES} samples under load (a cap reached late, e.g. a stream's MAXLEN): ${describe(g, what)}.`,
    ),
  ];
  if (verdict === 'flat') {
    conclusion.push(
      `Flat: over ${load.length} one-second samples under load, no key shape under the prefix and no stream or set inside a key grew by more than 20 % from the second quarter of the load to the last.`,
    );
  } else if (bounded) {
    conclusion.push(
      'Bounded: everything else stopped growing early in the load or was released after the retention wait and cleanup requests.',
    );
  }
  const retained = keyGroups.filter((g) => !g.released && g.peak > releaseLimit);
  for (const g of retained)
    conclusion.push(`Not released after the retention wait (bounded by a cap, not by age): ${describe(g, 'key count')}.`);
  const usedMemorySecondQuarterMeanBytes = meanOf(at.secondQuarter.map((s) => s.usedMemoryBytes));
  const usedMemoryLastQuarterMeanBytes = meanOf(at.lastQuarter.map((s) => s.usedMemoryBytes));
  if (stillGrowing(usedMemorySecondQuarterMeanBytes, usedMemoryLastQuarterMeanBytes, 1 << 20)) {
    conclusion.push(
      `Server-wide used_memory still rose late in the load (mean ${usedMemorySecondQuarterMeanBytes} -> ${usedMemoryLastQuarterMeanBytes} B)` +
        (verdict === 'flat' ? '; no key under the prefix did, so other users of this Redis, client buffers or allocator effects.' : '.'),
    );
  }
  return { verdict, bounded, keyGroups, collections, usedMemorySecondQuarterMeanBytes, usedMemoryLastQuarterMeanBytes, conclusion };
}
