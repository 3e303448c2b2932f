import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../bench/loadtest/cli-args.js';
import { runLoadTest } from '../../bench/loadtest/run-load-test.js';
import { parseScenario, type LoadedScenario } from '../../bench/loadtest/scenario.js';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { metricValue, scrape, type Sample } from '../helpers/metrics.js';
import { bearer, KEYS, policyFixture } from '../helpers/policy-fixture.js';
import { freePort } from '../helpers/redis.js';

const fixture = policyFixture();
let server: RunningServer;
const HTTP = 'switchyard_http_request_duration_seconds';

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, GRPC_PORT: String(await freePort()) });
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

const scenario = (value: Record<string, unknown>): LoadedScenario => ({
  scenario: parseScenario({ name: 'grpc', ...value }, 'grpc'),
  file: 'grpc',
  dir: fixture.repository.dir,
});
const metrics = (): Promise<Sample[]> => scrape(`${server.url}/metrics`, bearer(KEYS.admin));
const count = (samples: Sample[], rpc: string, status = '200'): number =>
  metricValue(samples, `${HTTP}_count`, { route: `/inference.GRPCInferenceService/${rpc}`, method: 'GRPC', status });

describe('npm run loadtest -- --protocol grpc', () => {
  it('takes --protocol and --grpc-target, and refuses other protocols', () => {
    expect(parseCliArgs(['--target', 'http://h:1', '--scenario', 's', '--protocol', 'grpc-stream', '--grpc-target', 'h:2'])).toMatchObject({
      protocol: 'grpc-stream',
      grpcTarget: 'h:2',
    });
    expect(parseCliArgs(['--target', 'http://h:1', '--scenario', 's']).protocol).toBe('http');
    expect(() => parseCliArgs(['--target', 'http://h:1', '--scenario', 's', '--protocol', 'smtp'])).toThrow(
      /--protocol is one of http, grpc, grpc-stream/,
    );
  });

  for (const [protocol, rpc] of [
    ['grpc', 'ModelInfer'],
    ['grpc-stream', 'ModelStreamInfer'],
  ] as const) {
    it(`${protocol}: every call sent is answered, and the gateway counted each one under ${rpc}`, async () => {
      const before = await metrics();
      const { report } = await runLoadTest({
        target: server.url,
        protocol,
        grpcTarget: server.grpcAddress!,
        key: KEYS.acme,
        scenario: scenario({
          duration_s: 2,
          requests: [{ model: 'mlp-classifier', version: '1' }],
          phases: [{ connections: 4 }],
          slo: { p99_ms: 60_000 },
        }),
      });
      const after = await metrics();
      expect(report.target).toBe(`${protocol}://${server.grpcAddress}`);
      expect(report.totals.sent).toBeGreaterThan(20);
      expect(report.totals.answered).toBe(report.totals.sent);
      expect(report.totals.outcomes.ok).toBe(report.totals.sent);
      expect(count(after, rpc) - count(before, rpc)).toBe(report.totals.sent);
      if (protocol === 'grpc') expect(report.breakdown?.samples).toBe(report.totals.sent);
    });
  }

  it("files refusals by their x-error-code: a rate-limited tenant's calls are rate_limited, not errors", async () => {
    const { report } = await runLoadTest({
      target: server.url,
      protocol: 'grpc',
      grpcTarget: server.grpcAddress!,
      key: KEYS.admin,
      scenario: scenario({
        duration_s: 1,
        requests: [{ model: 'mlp-classifier', version: '1', headers: { authorization: `Bearer ${KEYS.limited}` } }],
        phases: [{ connections: 2 }],
        slo: { p99_ms: 60_000 },
      }),
    });
    expect(report.totals.outcomes.rate_limited).toBeGreaterThan(0);
    expect(report.totals.outcomes.ok).toBeLessThanOrEqual(3);
    expect(report.totals.statusCodes['429']).toBe(report.totals.outcomes.rate_limited);
    expect(report.totals.errorRate).toBe(0);
  });
});
