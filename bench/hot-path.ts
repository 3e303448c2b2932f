/**
 * `npm run bench:hot-path` (and a stage of `npm run bench`): the embedded gateway as `npm start`
 * runs it (switchyard.yaml, info logging on) against the bare fastify ceiling at 64
 * connections, and its sequential latency against one raw inference, each pair measured in
 * alternating rounds so that both sides of a ratio see the same (shared, drifting) machine.
 * Writes bench/results/hot-path.{json,md}.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { withChildServer, type ChildServer } from './child-server.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { createSession, runBatch } from './ort-session.js';
import { makeRequestBodies } from './request-bodies.js';
import { measureSequential, type SequentialLatency } from './sequential-latency.js';
import { INFER_PATH, MODEL_PATH, REPO_ROOT, settings } from './settings.js';
import { median, percentile, round } from './stats.js';
import { inTurn } from './in-turn.js';

/** Issue 17's targets for the per-request path. */
export const HOT_PATH_TARGETS = { ceilingRatio: 0.6, overheadMs: 0.5 } as const;

export interface HotPathRound {
  readonly ceiling: LoadResult;
  readonly gateway: LoadResult;
  /** gateway / ceiling req/s in this round. */
  readonly ratio: number;
  /** Server CPU per answered request, microseconds (all the process's threads). */
  readonly ceilingCpuUsPerRequest: number;
  readonly gatewayCpuUsPerRequest: number;
  readonly rawP50Ms: number;
  readonly ceilingSequential: SequentialLatency;
  readonly gatewaySequential: SequentialLatency;
  /** gateway sequential p50 - raw batch-1 p50 in this round. */
  readonly overheadMs: number;
}

export interface HotPath {
  readonly connections: number;
  readonly secondsPerRun: number;
  readonly rounds: readonly HotPathRound[];
  readonly medianRatio: number;
  readonly medianOverheadMs: number;
  /** Gateway sequential p50 - ceiling sequential p50 - raw p50: what the gateway adds besides HTTP and the model. */
  readonly medianOwnShareMs: number;
}

const cpuUsPerRequest = (run: LoadResult): number =>
  run.responses2xx > 0 && run.serverCpuPercent !== undefined
    ? round(((run.serverCpuPercent / 100) * run.durationSeconds * 1e6) / run.responses2xx, 1)
    : 0;

/** One raw onnxruntime-node batch-1 run per body, timed: the p50 the latency target is over. */
async function rawLatencyP50(
  session: Awaited<ReturnType<typeof createSession>>,
  inputs: readonly Float32Array[],
  runs: number,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs + 20; i += 1) {
    const start = performance.now();
    await runBatch(session, inputs[i % inputs.length]!, 1);
    if (i >= 20) times.push(performance.now() - start);
  }
  return round(percentile(times, 50), 4);
}

/** The gateway exactly as `npm start` configures it, but for loading only the bench model. */
export function npmStartGatewayOptions(): ReturnType<typeof embeddedGatewayOptions> {
  const base = embeddedGatewayOptions('gateway-npm-start');
  const { LOG_LEVEL: _dropped, ...env } = base.env ?? {};
  return { ...base, env: { ...env, SWITCHYARD_CONFIG: resolve(REPO_ROOT, 'switchyard.yaml') } };
}

export async function measureHotPath(
  log: (line: string) => void,
  rounds = settings.pairedRounds,
  seconds = settings.durationSeconds,
  connections = settings.highConnections,
): Promise<HotPath> {
  const bodies = makeRequestBodies(settings.bodyCount);
  const target = (server: ChildServer): LoadTarget => ({ url: server.url, path: INFER_PATH, bodies: bodies.map((body) => body.json) });
  const session = await createSession(MODEL_PATH);
  const inputs = bodies.map((body) => body.input);
  const ceilingOptions = {
    name: 'http-ceiling',
    script: resolve(import.meta.dirname, 'servers', 'http-ceiling.js'),
    cwd: REPO_ROOT,
    readyPath: '/v2/health/ready',
  };
  return withChildServer(ceilingOptions, (ceiling) =>
    withChildServer(npmStartGatewayOptions(), async (gateway) => {
      await runLoad(target(ceiling), connections, settings.warmupSeconds, 0);
      await runLoad(target(gateway), connections, settings.warmupSeconds, 0);
      const results: HotPathRound[] = [];
      for (let index = 0; index < rounds; index += 1) {
        const [c64, g64] = await inTurn(
          index,
          () => runLoad(target(ceiling), connections, seconds, 0, ceiling.pid),
          () => runLoad(target(gateway), connections, seconds, 0, gateway.pid),
        );
        const rawP50Ms = await rawLatencyP50(session, inputs, settings.rawLatencyRuns);
        const [cSeq, gSeq] = await inTurn(
          index,
          () => measureSequential(target(ceiling), settings.sequentialRequests),
          () => measureSequential(target(gateway), settings.sequentialRequests),
        );
        const round_: HotPathRound = {
          ceiling: c64,
          gateway: g64,
          ratio: c64.requestsPerSecond > 0 ? round(g64.requestsPerSecond / c64.requestsPerSecond, 3) : 0,
          ceilingCpuUsPerRequest: cpuUsPerRequest(c64),
          gatewayCpuUsPerRequest: cpuUsPerRequest(g64),
          rawP50Ms,
          ceilingSequential: cSeq,
          gatewaySequential: gSeq,
          overheadMs: round(gSeq.p50Ms - rawP50Ms, 4),
        };
        results.push(round_);
        log(
          `  round ${index + 1}: @${connections} gateway ${g64.requestsPerSecond} / ceiling ${c64.requestsPerSecond} req/s = ${round_.ratio} ` +
            `(CPU ${round_.gatewayCpuUsPerRequest} vs ${round_.ceilingCpuUsPerRequest} us/req); @1 gateway p50 ${gSeq.p50Ms} ms, ` +
            `ceiling ${cSeq.p50Ms} ms, raw ${rawP50Ms} ms: overhead ${round_.overheadMs} ms`,
        );
      }
      return {
        connections,
        secondsPerRun: seconds,
        rounds: results,
        medianRatio: round(median(results.map((r) => r.ratio)), 3),
        medianOverheadMs: round(median(results.map((r) => r.overheadMs)), 4),
        medianOwnShareMs: round(median(results.map((r) => r.gatewaySequential.p50Ms - r.ceilingSequential.p50Ms - r.rawP50Ms)), 4),
      };
    }),
  );
}
