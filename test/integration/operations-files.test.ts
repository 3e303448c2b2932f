import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { bearer, KEYS, policyFixture } from '../helpers/policy-fixture.js';
import { REVIEW_KEYS, reviewFixture } from '../helpers/review-fixture.js';

const FILES = new URL('../../helm/switchyard/files/', import.meta.url);
const dashboard = JSON.parse(readFileSync(new URL('grafana-dashboard.json', FILES), 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[];
};
const rules = parseYaml(readFileSync(new URL('prometheus-rules.yaml', FILES), 'utf8')) as
  | { groups: { rules: { alert: string; expr: string }[] }[] }[]
  | { groups: { rules: { alert: string; expr: string }[] }[] };

/** Metric names a PromQL expression reads, with histogram suffixes folded into the family. */
const metricsIn = (expr: string): string[] =>
  [...expr.matchAll(/\bswitchyard_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''));
/** Only exported where nvidia-smi runs: these machines have no GPU. */
const GPU_ONLY = new Set(['switchyard_gpu_utilization_ratio', 'switchyard_gpu_memory_used_bytes']);

const policy = policyFixture();
const review = reviewFixture();
let policyServer: RunningServer;
let reviewServer: RunningServer;

beforeAll(async () => {
  [policyServer, reviewServer] = await Promise.all([
    startTestGateway(policy.repository.dir, policy.env),
    startTestGateway(review.repository.dir, review.env),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([policyServer.close(), reviewServer.close()]);
  policy.repository.remove();
  review.repository.remove();
});

async function exposed(server: RunningServer, key: string): Promise<Set<string>> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  return new Set([...text.matchAll(/^# TYPE (switchyard_[a-z_]+) /gm)].map(([, name]) => name!));
}

describe('the shipped Grafana dashboard and alert rules', () => {
  it('read only metrics the gateway exports', async () => {
    // Traffic that makes every family appear: inferences, a budgeted tenant, a reviewed route.
    await post(`${policyServer.url}/v2/models/mlp-priced/infer`, mlpBody(1), bearer(KEYS.budgeted));
    await post(`${policyServer.url}/v2/models/classify/infer`, mlpBody(2), bearer(KEYS.acme));
    await post(`${reviewServer.url}/v2/models/reviewed/infer`, mlpBody(3), {
      authorization: `Bearer ${REVIEW_KEYS.acme}`,
      'x-review': 'true',
    });
    const names = new Set([...(await exposed(policyServer, KEYS.admin)), ...(await exposed(reviewServer, REVIEW_KEYS.ops))]);

    const ruleList = (Array.isArray(rules) ? rules.flatMap((r) => r.groups) : rules.groups).flatMap((group) => group.rules);
    expect(ruleList.map((rule) => rule.alert).sort()).toEqual([
      'SwitchyardBudgetNearlySpent',
      'SwitchyardHighErrorRate',
      'SwitchyardHighLatencyP95',
      'SwitchyardOutputDrift',
      'SwitchyardQueueBacklog',
      'SwitchyardReviewBacklog',
    ]);
    const used = new Set([
      ...dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => metricsIn(target.expr))),
      ...ruleList.flatMap((rule) => metricsIn(rule.expr)),
    ]);
    // Distributed-only and drift-after-1,000-answers families are declared in code; the rest must be live here.
    const lateOrElsewhere = new Set(['switchyard_queue_depth', 'switchyard_output_drift_psi', ...GPU_ONLY]);
    const missing = [...used].filter((name) => !names.has(name) && !lateOrElsewhere.has(name));
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(15);
    const source = ['gateway/metrics/gateway-metrics.ts', 'workers/metrics/serving-metrics.ts', 'workers/metrics/gpu-metrics.ts']
      .map((file) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'))
      .join('\n');
    for (const name of lateOrElsewhere) expect(source).toContain(name.replace('switchyard_', ''));
  });

  it('the budget and review families carry live figures', async () => {
    const text = await (await fetch(`${reviewServer.url}/metrics`, { headers: { authorization: `Bearer ${REVIEW_KEYS.ops}` } })).text();
    expect(text).toMatch(/^switchyard_review_pending\{route="reviewed"\} [1-9]/m);
    const budget = await (await fetch(`${policyServer.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
    expect(budget).toMatch(/^switchyard_budget_used_ratio\{tenant="budgeted"\} 0\.[0-9]+/m);
    expect((await get(`${reviewServer.url}/v2/health/ready`)).status).toBe(200);
  });
});
