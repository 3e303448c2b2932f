/**
 * `node dist/bench/hot-path-ab.js [BASE_DIST [NEXT_DIST]]`: two builds of the embedded gateway, each as
 * `npm start` runs it, up side by side and loaded in alternating rounds (the order flipped each
 * round) at 64 connections with the hot-path bench's JSON bodies; per round and as medians, the
 * gateway's CPU per answered request from /proc (all threads) and req/s. BASE_DIST (default
 * `dist-base`, e.g. a copy of main's `dist`) is the A side, NEXT_DIST (default this tree's `dist`)
 * the B side. The side started second (B) measured 2-3 % lower with the same build on both: swap
 * the two to tell a change from that.
 * Rounds: BENCH_PAIRED_ROUNDS; seconds: BENCH_DURATION_SECONDS. Nothing is written.
 */
import { resolve } from 'node:path';
import { withChildServer } from './child-server.js';
import { npmStartGatewayOptions } from './hot-path.js';
import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, REPO_ROOT, settings } from './settings.js';
import { median, round } from './stats.js';
import { inTurn } from './in-turn.js';

const cpuUs = (run: LoadResult): number =>
  run.responses2xx > 0 ? (((run.serverCpuPercent ?? 0) / 100) * run.durationSeconds * 1e6) / run.responses2xx : 0;

async function main(): Promise<void> {
  const baseDist = resolve(REPO_ROOT, process.argv[2] ?? 'dist-base');
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const options = npmStartGatewayOptions();
  // AB_REPOSITORY_A / AB_REPOSITORY_B: a model repository per side (two configurations of one build).
  const repository = (side: string) => {
    const path = process.env[`AB_REPOSITORY_${side}`];
    return path ? { env: { ...options.env, MODEL_REPOSITORY: path } } : {};
  };
  const base = { ...options, ...repository('A'), name: 'gateway-a', script: resolve(baseDist, 'gateway', 'server.js') };
  const next = {
    ...options,
    ...repository('B'),
    name: 'gateway-b',
    script: resolve(REPO_ROOT, process.argv[3] ?? 'dist', 'gateway', 'server.js'),
  };
  const connections = settings.highConnections;
  await withChildServer(base, (a) =>
    withChildServer(next, async (b) => {
      const target = (url: string): LoadTarget => ({ url, path: INFER_PATH, bodies });
      await runLoad(target(a.url), connections, settings.warmupSeconds, 0);
      await runLoad(target(b.url), connections, settings.warmupSeconds, 0);
      const ratios: number[] = [];
      const rows: { a: number; b: number }[] = [];
      for (let index = 0; index < settings.pairedRounds; index += 1) {
        const runA = (): Promise<LoadResult> => runLoad(target(a.url), connections, settings.durationSeconds, 0, a.pid);
        const runB = (): Promise<LoadResult> => runLoad(target(b.url), connections, settings.durationSeconds, 0, b.pid);
        const [ra, rb] = await inTurn(index, runA, runB);
        const row = { a: cpuUs(ra), b: cpuUs(rb) };
        rows.push(row);
        ratios.push(row.b / row.a);
        console.log(
          `round ${index + 1}: A ${ra.requestsPerSecond} req/s ${round(row.a, 1)} us/req | B ${rb.requestsPerSecond} req/s ` +
            `${round(row.b, 1)} us/req | B/A CPU ${round(row.b / row.a, 3)}`,
        );
      }
      console.log(
        `median: A ${round(median(rows.map((r) => r.a)), 1)} us/req, B ${round(median(rows.map((r) => r.b)), 1)} us/req, ` +
          `B/A per round ${round(median(ratios), 3)}; B lower in ${ratios.filter((r) => r < 1).length} of ${ratios.length}`,
      );
    }),
  );
}

await main();
