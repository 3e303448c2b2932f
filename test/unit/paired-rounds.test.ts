import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { measurePairedRounds, medianRatio, pairRatio } from '../../bench/paired-rounds.js';
import { median } from '../../bench/stats.js';

/** A plain HTTP server answering after `delayMs`, recording when each request arrived. */
async function server(delayMs: number, seen: number[]): Promise<{ url: string; server: Server }> {
  const s = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      seen.push(performance.now());
      setTimeout(() => response.end('{}'), delayMs);
    });
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const address = s.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, server: s };
}

const fastSeen: number[] = [];
const slowSeen: number[] = [];
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('pair and median ratios', () => {
  it('rounds each pair to three places, and the median of the rounded ratios again', () => {
    expect(pairRatio(3000, 2150)).toBe(0.717);
    expect(pairRatio(5678, 1234)).toBe(0.217);
    expect(pairRatio(0, 100)).toBe(0);
    // The five rounds behind the figure in bench/README.md.
    expect(medianRatio([0.722, 0.522, 0.718, 0.713, 0.715])).toBe(0.715);
    // Two rounds: the mean of the two, rounded again (the CI case: 0.1635 -> 0.164).
    expect(medianRatio([0.163, 0.164])).toBe(0.164);
    expect(medianRatio([0.7, 0.8])).toBe(0.75);
  });
});

describe('measurePairedRounds (real HTTP servers)', () => {
  it('alternates the two sides, the order flipped each round, and takes the median of the per-round ratios', async () => {
    const fast = await server(1, fastSeen);
    const slow = await server(8, slowSeen);
    servers.push(fast.server, slow.server);
    const side = (url: string) => ({ target: { url, path: '/', bodies: ['{}'] }, serverPid: process.pid });
    const result = await measurePairedRounds(side(fast.url), side(slow.url), { rounds: 2, seconds: 1, warmupSeconds: 1, connections: 4 });

    expect(result.rounds).toHaveLength(2);
    for (const pair of result.rounds) {
      expect(pair.embedded.requestsPerSecond).toBeGreaterThan(pair.distributed.requestsPerSecond);
      // The slow side answers after 8 ms, the fast one after 1 ms.
      expect(pair.ratio).toBeGreaterThan(0);
      expect(pair.ratio).toBeLessThan(1);
    }
    const ratios = result.rounds.map((r) => r.ratio);
    expect(result.medianRatio).toBeGreaterThanOrEqual(Math.min(...ratios) - 0.0005);
    expect(result.medianRatio).toBeLessThanOrEqual(Math.max(...ratios) + 0.0005);
    // Warm-ups (fast, slow), then fast, slow, then slow, fast (the order flips each round): the two
    // slow runs in the middle are one stretch.
    const timeline = [...fastSeen.map((at) => ({ at, side: 'fast' })), ...slowSeen.map((at) => ({ at, side: 'slow' }))].sort(
      (a, b) => a.at - b.at,
    );
    const runs = timeline.filter((entry, index) => index === 0 || entry.side !== timeline[index - 1]!.side).map((entry) => entry.side);
    expect(runs).toEqual(['fast', 'slow', 'fast', 'slow', 'fast']);
  }, 30_000);
});
