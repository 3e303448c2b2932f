import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { measurePairedRounds } from '../../bench/paired-rounds.js';
import { median, round } from '../../bench/stats.js';

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

describe('measurePairedRounds (real HTTP servers)', () => {
  it('alternates the two sides and takes the median of the per-round ratios', async () => {
    const fast = await server(1, fastSeen);
    const slow = await server(8, slowSeen);
    servers.push(fast.server, slow.server);
    const side = (url: string) => ({ target: { url, path: '/', bodies: ['{}'] }, serverPid: process.pid });
    const result = await measurePairedRounds(side(fast.url), side(slow.url), { rounds: 2, seconds: 1, warmupSeconds: 1, connections: 4 });

    expect(result.rounds).toHaveLength(2);
    for (const pair of result.rounds) {
      expect(pair.embedded.requestsPerSecond).toBeGreaterThan(pair.distributed.requestsPerSecond);
      // Rounded to three places: off by at most half the last place.
      expect(Math.abs(pair.ratio - pair.distributed.requestsPerSecond / pair.embedded.requestsPerSecond)).toBeLessThanOrEqual(0.0005 + 1e-9);
      expect(pair.ratio).toBeLessThan(1);
    }
    // With two rounds the median is a mean of two rounded ratios, rounded again (0.1635 -> 0.164).
    expect(result.medianRatio).toBe(round(median(result.rounds.map((r) => r.ratio)), 3));
    // Warm-ups (fast, slow), then fast, slow, fast, slow: six runs one after the other.
    const timeline = [...fastSeen.map((at) => ({ at, side: 'fast' })), ...slowSeen.map((at) => ({ at, side: 'slow' }))].sort((a, b) => a.at - b.at);
    const runs = timeline.filter((entry, index) => index === 0 || entry.side !== timeline[index - 1]!.side).map((entry) => entry.side);
    expect(runs).toEqual(['fast', 'slow', 'fast', 'slow', 'fast', 'slow']);
  }, 30_000);
});
