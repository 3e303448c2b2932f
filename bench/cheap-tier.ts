import { Agent } from 'node:http';
import { post } from './http-post.js';
import { runLoad, type LoadResult } from './load.js';
import { row } from './markdown.js';
import { cycle } from './request-bodies.js';
import { round } from './stats.js';

/** One way of answering the same requests: the fp32 model directly, or the cascade route. */
export interface TierFigures {
  readonly path: string;
  readonly c64: LoadResult;
  /** From the gateway's x-cost-usd header over the sequential requests. */
  readonly meanCostUsd: number;
  readonly escalatedPercent: number;
  /** Requests whose top class equals the fp32 model's. */
  readonly agreementPercent: number;
  readonly requests: number;
}

export interface CheapTierStage {
  readonly route: string;
  readonly fp32: TierFigures;
  readonly cascade: TierFigures;
}

const argmax = (values: readonly number[]): number => values.reduce((best, value, index) => (value > values[best]! ? index : best), 0);

/**
 * The shipped `classify` route (int8 first, fp32 when the int8 answer is unsure) against
 * the fp32 model on the same gateway and the same bodies: throughput at 64 connections,
 * cost per request and escalations from the gateway's own headers, and agreement.
 */
export async function measureCheapTier(
  url: string,
  bodies: readonly string[],
  distinctBodies: readonly string[],
  connections: number,
  seconds: number,
  warmup: number,
  pid: number,
): Promise<CheapTierStage> {
  const requests = distinctBodies.length;
  const fp32Path = '/v2/models/mlp-classifier/versions/1/infer';
  const routePath = '/v2/models/classify/infer';
  const sequential = async (path: string): Promise<{ cost: number; escalated: number; tops: number[] }> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // Each input once: agreement and escalations are counted over distinct inputs.
    const next = cycle(distinctBodies);
    let cost = 0;
    let escalated = 0;
    const tops: number[] = [];
    try {
      for (let i = 0; i < requests; i += 1) {
        const reply = await post(agent, new URL(path, url), next());
        if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}: ${reply.body.toString('utf8').slice(0, 200)}`);
        cost += Number(reply.headers['x-cost-usd']);
        if (reply.headers['x-escalated'] === 'true') escalated += 1;
        const [output] = (JSON.parse(reply.body.toString('utf8')) as { outputs: { data: number[] }[] }).outputs;
        tops.push(argmax(output!.data));
      }
    } finally {
      agent.destroy();
    }
    return { cost, escalated, tops };
  };
  const direct = await sequential(fp32Path);
  const routed = await sequential(routePath);
  const agreement = routed.tops.filter((top, i) => top === direct.tops[i]).length / requests;
  const fp32Load = await runLoad({ url, path: fp32Path, bodies }, connections, seconds, warmup, pid);
  const routeLoad = await runLoad({ url, path: routePath, bodies }, connections, seconds, warmup, pid);
  return {
    route: 'classify',
    fp32: { path: fp32Path, c64: fp32Load, meanCostUsd: direct.cost / requests, escalatedPercent: 0, agreementPercent: 100, requests },
    cascade: {
      path: routePath,
      c64: routeLoad,
      meanCostUsd: routed.cost / requests,
      escalatedPercent: round((routed.escalated / requests) * 100, 2),
      agreementPercent: round(agreement * 100, 2),
      requests,
    },
  };
}

export function cheapTierSection(stage: CheapTierStage | undefined): string[] {
  if (!stage) return [];
  const { fp32, cascade } = stage;
  const usd = (value: number): string => value.toExponential(3);
  return [
    '## Cheap tier: the int8 version in the shipped `classify` route',
    '',
    'Same gateway, same request bodies: the fp32 model called directly vs the `classify` route of `switchyard.yaml` (int8 `mlp-classifier` v2 first, fp32 v1 when the int8 top probability is under the threshold).',
    '',
    row(['Path', 'Req/s @64', 'p50 / p99 ms @64', 'Mean cost per request (USD)', 'Escalated to fp32', 'Top class = fp32']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    row([
      `fp32 direct \`${fp32.path}\``,
      fp32.c64.requestsPerSecond,
      `${fp32.c64.latencyMs.p50} / ${fp32.c64.latencyMs.p99}`,
      usd(fp32.meanCostUsd),
      '-',
      '100 %',
    ]),
    row([
      `cascade \`${cascade.path}\``,
      cascade.c64.requestsPerSecond,
      `${cascade.c64.latencyMs.p50} / ${cascade.c64.latencyMs.p99}`,
      usd(cascade.meanCostUsd),
      `${cascade.escalatedPercent} %`,
      `${cascade.agreementPercent} %`,
    ]),
    '',
    `Cost per request: cascade / fp32 = **${round(cascade.meanCostUsd / fp32.meanCostUsd, 3)}** over ${cascade.requests} distinct inputs sent one at a time to each; throughput cascade / fp32 = **${round(cascade.c64.requestsPerSecond / fp32.c64.requestsPerSecond, 3)}**.`,
    '',
  ];
}
