import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadTest } from '../../bench/loadtest/run-load-test.js';
import { parseScenario, type LoadedScenario } from '../../bench/loadtest/scenario.js';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { metricValue, scrape, type Sample } from '../helpers/metrics.js';
import { BUDGETED_REQUESTS, bearer, KEYS, policyFixture } from '../helpers/policy-fixture.js';

const fixture = policyFixture();
const work = mkdtempSync(join(tmpdir(), 'switchyard-loadtest-'));
let server: RunningServer;

const INFER_ROUTE = '/v2/models/:model/versions/:version/infer';
const HTTP = 'switchyard_http_request_duration_seconds';

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, fixture.env);
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
  rmSync(work, { recursive: true, force: true });
});

function scenario(value: Record<string, unknown>): LoadedScenario {
  return { scenario: parseScenario({ name: 'test', ...value }, 'test'), file: 'test', dir: work };
}

/** The gateway's metrics once every request it received has been answered. */
async function settledMetrics(): Promise<Sample[]> {
  while (server.inFlight() > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  return scrape(`${server.url}/metrics`, bearer(KEYS.admin));
}

const diff = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}): number =>
  metricValue(after, name, labels) - metricValue(before, name, labels);

/** Lower edge of the histogram bucket holding the q-quantile of the window's observations. */
function bucketLowerEdge(before: Sample[], after: Sample[], labels: Record<string, string>, q: number): number {
  const edges = [...new Set(after.filter((s) => s.name === `${HTTP}_bucket`).map((s) => s.labels.le!))]
    .filter((le) => le !== '+Inf')
    .map(Number)
    .sort((a, b) => a - b);
  const count = diff(before, after, `${HTTP}_count`, labels);
  let previous = 0;
  for (const edge of edges) {
    if (diff(before, after, `${HTTP}_bucket`, { ...labels, le: String(edge) }) >= q * count) return previous;
    previous = edge;
  }
  return previous;
}

describe('load test against a gateway started here', () => {
  it("reports the same requests, statuses and latencies as the gateway's own metrics for the window", async () => {
    const before = await settledMetrics();
    const { report, files } = await runLoadTest({
      target: server.url,
      key: KEYS.acme,
      outDir: join(work, 'steady'),
      scenario: scenario({
        duration_s: 2.5,
        requests: [{ model: 'mlp-classifier', version: '1' }],
        phases: [{ connections: 4 }],
        slo: { p99_ms: 60_000 },
      }),
    });
    const after = await settledMetrics();
    const labels = { route: INFER_ROUTE, method: 'POST' };

    // Every request sent was answered (the phase drains), and the gateway counted each one.
    expect(report.totals.sent).toBeGreaterThan(100);
    expect(report.totals.answered).toBe(report.totals.sent);
    expect(diff(before, after, `${HTTP}_count`, labels)).toBe(report.totals.sent);
    const statuses = new Set(
      after.filter((s) => s.name === `${HTTP}_count` && s.labels.route === INFER_ROUTE).map((s) => s.labels.status!),
    );
    for (const status of new Set([...statuses, ...Object.keys(report.totals.statusCodes)])) {
      expect(diff(before, after, `${HTTP}_count`, { ...labels, status }), `status ${status}`).toBe(report.totals.statusCodes[status] ?? 0);
    }
    expect(diff(before, after, 'switchyard_inference_requests_total', { model: 'mlp-classifier', version: '1', outcome: 'success' })).toBe(
      report.totals.outcomes.ok,
    );

    // The queue part of the breakdown is the serving histogram's sum (headers round to 1 µs).
    const queueMs = diff(before, after, 'switchyard_queue_duration_seconds_sum', { model: 'mlp-classifier', version: '1' }) * 1000;
    expect(Math.abs(report.breakdown!.queue.sumMs - queueMs)).toBeLessThan(0.001 * report.totals.sent + 0.01);

    // The client sees each request no sooner than the gateway finished it, and not much later.
    const serverMeanMs =
      (diff(before, after, `${HTTP}_sum`, { ...labels, status: '200' }) /
        diff(before, after, `${HTTP}_count`, { ...labels, status: '200' })) *
      1000;
    expect(report.totals.latency.meanMs).toBeGreaterThanOrEqual(serverMeanMs);
    expect(report.totals.latency.meanMs - serverMeanMs).toBeLessThan(10);
    // X-Server-Ms is taken when the answer is ready, before it is encoded and written: the
    // server parts add up to most of the gateway's HTTP time, never more; with the network
    // and client part they add up to what the client saw.
    const { gateway, queue, compute, network } = report.breakdown!;
    const serverPartsMs = gateway.sumMs + queue.sumMs + compute.sumMs;
    const httpMs = diff(before, after, `${HTTP}_sum`, { ...labels, status: '200' }) * 1000;
    expect(serverPartsMs).toBeLessThanOrEqual(httpMs + 0.003 * report.breakdown!.samples);
    expect(serverPartsMs).toBeGreaterThan(0.5 * httpMs);
    expect(network.meanMs).toBeGreaterThan(0);
    expect(Math.abs(gateway.meanMs + queue.meanMs + compute.meanMs + network.meanMs - report.totals.latency.meanMs)).toBeLessThan(
      0.01 * report.totals.latency.meanMs + 0.005,
    );
    for (const [q, figure] of [
      [0.5, report.totals.latency.p50Ms],
      [0.95, report.totals.latency.p95Ms],
    ] as const) {
      expect(figure, `p${q * 100}`).toBeGreaterThanOrEqual(bucketLowerEdge(before, after, { ...labels, status: '200' }, q) * 1000);
    }

    expect(report.windows.length).toBeGreaterThanOrEqual(2);
    expect(report.windows.reduce((sum, w) => sum + w.answered, 0)).toBe(report.totals.answered);
    for (const file of [files!.json, files!.markdown, files!.html]) expect(existsSync(file), file).toBe(true);
    expect(JSON.parse(readFileSync(files!.json, 'utf8')).totals.sent).toBe(report.totals.sent);
    expect(readFileSync(files!.markdown, 'utf8')).toContain('## Load test `test`: PASS');
    expect(readFileSync(files!.html, 'utf8')).toMatch(/PASS: every SLO met[\s\S]*<svg/);
  });

  it("counts an over-budget tenant's refusals apart from errors, as the gateway does", async () => {
    const before = await settledMetrics();
    const { report } = await runLoadTest({
      target: server.url,
      key: KEYS.budgeted,
      scenario: scenario({ duration_s: 1, requests: [{ model: 'mlp-priced' }], phases: [{ connections: 2 }], slo: { max_error_rate: 0 } }),
    });
    const after = await settledMetrics();
    expect(report.totals.outcomes.ok).toBe(BUDGETED_REQUESTS);
    expect(report.totals.outcomes.budget_exceeded).toBe(report.totals.sent - BUDGETED_REQUESTS);
    expect(report.totals.errorCodes).toEqual({ budget_exceeded: report.totals.sent - BUDGETED_REQUESTS });
    expect(report.totals.errors).toBe(0);
    expect(report.slo.pass).toBe(true);
    expect(diff(before, after, 'switchyard_budget_rejected_total', { tenant: 'budgeted' })).toBe(report.totals.outcomes.budget_exceeded);
  });

  it('counts replays of a retry storm apart from first answers', async () => {
    const before = await settledMetrics();
    const { report } = await runLoadTest({
      target: server.url,
      key: KEYS.acme,
      scenario: scenario({
        duration_s: 1,
        requests: [{ model: 'mlp-classifier', version: '1', idempotency: { repeats: 4 } }],
        phases: [{ connections: 4 }],
      }),
    });
    const after = await settledMetrics();
    const { outcomes } = report.totals;
    expect(outcomes.replayed).toBeGreaterThan(0);
    expect(outcomes.ok + outcomes.replayed + outcomes.in_progress).toBe(report.totals.sent);
    expect(diff(before, after, 'switchyard_idempotent_replays_total', { tenant: 'acme' })).toBe(outcomes.replayed);
    // Each key ran the model once at most, whatever number of times it was sent.
    expect(outcomes.ok).toBeLessThanOrEqual(Math.ceil(report.totals.sent / 4));
  });
});

describe('the compiled CLI', () => {
  // Asynchronous: the gateway under test runs on this process's event loop.
  const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['dist/bench/loadtest/cli.js', ...args],
        { encoding: 'utf8', timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({ status: error ? Number(error.code ?? -1) : 0, stdout, stderr });
        },
      );
    });
  const scenarioFile = (name: string, slo: Record<string, number>): string => {
    const file = join(work, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({ name, duration_s: 1, requests: [{ model: 'mlp-classifier', version: '1' }], phases: [{ connections: 2 }], slo }),
    );
    return file;
  };

  it('exits 1 when an SLO is violated and 0 when every SLO holds', async () => {
    const failing = await cli([
      '--target',
      server.url,
      '--key',
      KEYS.acme,
      '--scenario',
      scenarioFile('impossible', { min_throughput_rps: 1e9 }),
      '--out',
      join(work, 'impossible'),
    ]);
    expect(failing.status, failing.stderr).toBe(1);
    expect(failing.stdout).toMatch(/SLO min_throughput_rps: limit 1000000000, measured [\d.]+: FAIL/);
    const passing = await cli([
      '--target',
      server.url,
      '--key',
      KEYS.acme,
      '--scenario',
      scenarioFile('easy', { min_throughput_rps: 1 }),
      '--out',
      join(work, 'easy'),
      '--compare',
      join(work, 'impossible', 'report.json'),
    ]);
    expect(passing.status, passing.stderr).toBe(0);
    expect(passing.stdout).toContain('compare throughput_rps:');
    expect(readFileSync(join(work, 'easy', 'report.md'), 'utf8')).toContain('Against the previous run:');
  });

  it.each([
    [['--target', 'http://127.0.0.1:1', '--scenario', 'no-such-scenario'], /unknown scenario "no-such-scenario".*shipped: .*steady/],
    [['--target', 'not a url', '--scenario', 'steady'], /target must be a URL/],
    [['--target', 'ftp://127.0.0.1', '--scenario', 'steady'], /http:\/\/ or https:\/\/ URL/],
    [
      ['--target', 'http://127.0.0.1:1', '--scenario', 'steady', '--duration', 'ten'],
      /--duration must be a positive number of seconds, not "ten"/,
    ],
    [['--target', 'http://127.0.0.1:1', '--scenario', 'steady', '--duration', '0'], /--duration must be a positive number/],
    [['--scenario', 'steady'], /--target URL is required/],
    [['--target', 'http://127.0.0.1:1', '--scenario', 'steady'], /cannot reach http:\/\/127\.0\.0\.1:1/],
  ])('refuses %j with a clear error and exit status 2', async (args, message) => {
    const run = await cli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
