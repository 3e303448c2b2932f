import type { KeyCensus } from './redis-key-groups.js';
import type { RedisSample } from './redis-sampler.js';

/** The whole picture at one moment: server memory, and every key under the prefix with its size. */
export interface Snapshot {
  readonly second: number;
  readonly usedMemoryBytes: number;
  readonly census: KeyCensus;
  readonly streamLengths: Record<string, number>;
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
  /** Why this shape counts as unbounded; empty when it is not. */
  readonly grows: string;
}

export interface Boundedness {
  readonly bounded: boolean;
  readonly keyGroups: GroupGrowth[];
  readonly streams: GroupGrowth[];
  /** used_memory means over the second and last quarter of the load (whole server: a hint, not the verdict). */
  readonly usedMemorySecondQuarterMeanBytes: number;
  readonly usedMemoryLastQuarterMeanBytes: number;
  readonly conclusion: string[];
}

/**
 * Still growing late in the load: the last quarter's mean more than 20 % (and `slack`)
 * above the second quarter's. Means, not points, so a shared machine's throughput
 * swings (retention by age keeps rate x seconds jobs) do not read as a leak; a key
 * left behind per request grows ~2.3x between those quarters.
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

function growthOf(name: string, read: (sample: RedisSample) => number, at: Moments, releaseLimit: number | undefined, slack: number): GroupGrowth {
  const values = {
    start: read(at.start),
    secondQuarterMean: meanOf(at.secondQuarter.map(read)),
    lastQuarterMean: meanOf(at.lastQuarter.map(read)),
    peak: Math.max(...at.all.map(read)),
    endOfLoad: read(at.end),
    afterCleanup: read(at.cleanup),
  };
  const reasons: string[] = [];
  if (stillGrowing(values.secondQuarterMean, values.lastQuarterMean, slack)) {
    reasons.push(`still growing under load (mean ${values.secondQuarterMean} in the second quarter -> ${values.lastQuarterMean} in the last)`);
  }
  if (releaseLimit !== undefined && values.afterCleanup > releaseLimit) {
    reasons.push(`${values.afterCleanup} left after the retention wait and cleanup requests (at most ${releaseLimit} expected)`);
  }
  return { group: name, ...values, grows: reasons.join('; ') };
}

/**
 * Bounded means: no key shape and no stream under the prefix kept growing late in the
 * load, and once results outlived their retention and a few new jobs finished (BullMQ
 * removes old jobs lazily, when later jobs finish), no shape kept more keys than those
 * few new jobs account for.
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
  const groups = [...new Set(samples.flatMap((s) => Object.keys(s.keysByGroup)))];
  const releaseLimit = cleanupRequests + 10;
  const keyGroups = groups.map((g) => growthOf(g, (s) => s.keysByGroup[g] ?? 0, at, releaseLimit, 10)).sort((a, b) => b.peak - a.peak);
  const streamNames = [...new Set(samples.flatMap((s) => Object.keys(s.streamLengths)))];
  // Streams are capped by length (MAXLEN), not emptied by job removal: only growth under load counts.
  const streams = streamNames.map((name) => growthOf(name, (s) => s.streamLengths[name] ?? 0, at, undefined, 100));
  const growing = [...keyGroups, ...streams].filter((g) => g.grows !== '');
  const bounded = growing.length === 0;
  const conclusion = bounded
    ? [
        `Bounded: over ${load.length} one-second samples under load, no key shape or stream under the prefix grew by more than 20 % from the second quarter of the load to the last, ` +
          `and after the retention wait plus ${cleanupRequests} requests no shape held more than ${releaseLimit} keys.`,
      ]
    : growing.map((g) => `Unbounded: \`${g.group}\` ${g.grows}.`);
  const usedMemorySecondQuarterMeanBytes = meanOf(at.secondQuarter.map((s) => s.usedMemoryBytes));
  const usedMemoryLastQuarterMeanBytes = meanOf(at.lastQuarter.map((s) => s.usedMemoryBytes));
  if (stillGrowing(usedMemorySecondQuarterMeanBytes, usedMemoryLastQuarterMeanBytes, 1 << 20)) {
    conclusion.push(
      `Note: server-wide used_memory still rose late in the load (mean ${usedMemorySecondQuarterMeanBytes} -> ${usedMemoryLastQuarterMeanBytes} B); ` +
        'other users of this Redis, client buffers or allocator effects can cause that without any key under the prefix growing.',
    );
  }
  return { bounded, keyGroups, streams, usedMemorySecondQuarterMeanBytes, usedMemoryLastQuarterMeanBytes, conclusion };
}
