import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, SHIPPED_SCENARIOS, shippedScenarioNames } from '../../bench/loadtest/scenario.js';
import { SHIPPED } from '../../bench/loadtest/shipped-scenarios.js';

const valid = { name: 'x', requests: [{ model: 'mlp-classifier' }], phases: [{ connections: 4 }] };

describe('scenario files', () => {
  it('fills defaults for a minimal scenario', () => {
    const scenario = parseScenario(valid, 'x.json');
    expect(scenario.duration_s).toBe(20);
    expect(scenario.requests[0]).toMatchObject({ weight: 1, body: { from: 'metadata', dynamic_dim: 8 } });
    expect(scenario.phases[0]).toEqual({ share: 1, connections: 4 });
  });

  it.each([
    [{ ...valid, phases: [{ connections: 0 }] }, 'phases.0.connections'],
    [{ ...valid, phases: [{ connections: 8, rate: 4 }] }, 'phases.0.rate: rate must be at least connections'],
    [{ ...valid, requests: [] }, 'requests'],
    [{ ...valid, requests: [{ model: 'm', body: { from: 'image', width: 0, height: 4 } }] }, 'requests.0.body.width'],
    [{ ...valid, requests: [{ model: 'm', body: { from: 'telepathy' } }] }, 'requests.0.body.from'],
    [{ ...valid, requests: [{ model: 'image-moderation', task: true }] }, 'requests.0.body: a task entry sends images'],
    [{ ...valid, slo: { p95: 10 } }, 'slo'],
    [{ ...valid, slo: { max_error_rate: 2 } }, 'slo.max_error_rate'],
    [{ ...valid, duration_s: 'long' }, 'duration_s'],
    [{ ...valid, find_knee: true }, 'slo.p95_ms: find_knee needs a p95 target'],
  ])('names the bad field: %j', (value, field) => {
    expect(() => parseScenario(value, 'bad.json')).toThrow(`bad.json`);
    expect(() => parseScenario(value, 'bad.json')).toThrow(field);
  });

  it('says which scenarios exist when a name is unknown', () => {
    expect(() => loadScenario('nope')).toThrow(
      /unknown scenario "nope".*shipped: fixed-rate, image, mixed, moderation, noisy-neighbour, over-budget, ramp, retry-storm, soak, spike, steady/,
    );
  });

  it('ships every scenario the issue asks for, each valid, and imports each one so dist/ holds it', () => {
    const files = readdirSync(SHIPPED_SCENARIOS)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();
    expect(files).toEqual([
      'fixed-rate',
      'image',
      'mixed',
      'moderation',
      'noisy-neighbour',
      'over-budget',
      'ramp',
      'retry-storm',
      'soak',
      'spike',
      'steady',
    ]);
    expect(SHIPPED.map((s) => s.name).sort()).toEqual(files);
    expect(shippedScenarioNames()).toEqual(files);
    for (const name of files) expect(loadScenario(name).scenario.name).toBe(name);
    expect(loadScenario('ramp').scenario.find_knee).toBe(true);
    expect(loadScenario('fixed-rate').scenario.phases[0]!.rate).toBeGreaterThan(0);
    expect(loadScenario('noisy-neighbour').scenario.phases.map((phase) => phase.tenants)).toEqual([{ quiet: 1 }, { noisy: 32, quiet: 1 }]);
  });

  it('refuses a tenant split that does not add up, names no entry, or sets a rate', () => {
    const entries = [{ model: 'm', tenant: 'a', key_env: 'A_KEY' }];
    expect(() => parseScenario({ name: 'x', requests: entries, phases: [{ connections: 3, tenants: { a: 2 } }] }, 's')).toThrow(
      /phases\.0\.connections: connections must be the sum/,
    );
    expect(() => parseScenario({ name: 'x', requests: entries, phases: [{ connections: 2, tenants: { b: 2 } }] }, 's')).toThrow(
      /phases\.0\.tenants\.b: no request entry has tenant "b"/,
    );
    expect(() => parseScenario({ name: 'x', requests: entries, phases: [{ connections: 2, rate: 10, tenants: { a: 2 } }] }, 's')).toThrow(
      /phases\.0\.rate/,
    );
    expect(() => parseScenario({ name: 'x', requests: [{ model: 'm', key_env: 'lower' }], phases: [{ connections: 1 }] }, 's')).toThrow(
      /requests\.0\.key_env/,
    );
  });
});
