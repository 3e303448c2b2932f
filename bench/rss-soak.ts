import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { rssMb } from './proc-stats.js';
import { round } from './stats.js';

export interface RssSoak {
  readonly seconds: number;
  readonly connections: number;
  /** Second of the soak taken as "warm": growth before it is start-up, not a leak. */
  readonly warmAtSecond: number;
  readonly rssWarmMb: number;
  readonly rssEndMb: number;
  readonly rssPeakMb: number;
  readonly growthPercent: number;
  /** [second, MB] once a second. */
  readonly samples: [number, number][];
  readonly load: LoadResult;
}

/** Sustained load while sampling the server's RSS each second: a leak shows as steady growth. */
export async function rssSoak(target: LoadTarget, pid: number, connections: number, seconds: number): Promise<RssSoak> {
  const warmAtSecond = Math.min(5, Math.max(1, Math.floor(seconds / 4)));
  const samples: [number, number][] = [];
  const started = Date.now();
  const sample = async (): Promise<void> => {
    samples.push([round((Date.now() - started) / 1000, 1), round(await rssMb(pid), 1)]);
  };
  await sample();
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample);
  }, 1000);
  let load: LoadResult;
  try {
    load = await runLoad(target, connections, seconds, 0, pid);
  } finally {
    clearInterval(timer);
    await sampling;
  }
  await sample();
  const warm = samples.find(([second]) => second >= warmAtSecond) ?? samples[0]!;
  const end = samples[samples.length - 1]!;
  return {
    seconds,
    connections,
    warmAtSecond,
    rssWarmMb: warm[1],
    rssEndMb: end[1],
    rssPeakMb: Math.max(...samples.map(([, mb]) => mb)),
    growthPercent: round(((end[1] - warm[1]) / warm[1]) * 100, 2),
    samples,
    load,
  };
}
