import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../gateway/policy/policy-config.js';
import { checkRoutes } from '../../gateway/wiring/check-routes.js';
import { loadRepository, type ModelDefinition } from '../../workers/repository/load-repository.js';

/** The policy's routes against the shipped model repository, as an embedded gateway checks them at start. */
const REPOSITORY = resolve(import.meta.dirname, '../../models');
const dir = mkdtempSync(join(tmpdir(), 'sy-routes-'));
let definitions: ModelDefinition[];
beforeAll(async () => {
  definitions = await loadRepository(REPOSITORY);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mlp = (name: string, version?: string) => ({ name, model: 'mlp-classifier', ...(version ? { version } : {}) });

function check(routes: unknown[], loaded?: string[]): string[] {
  const file = join(dir, 'p.json');
  writeFileSync(file, JSON.stringify({ routes }));
  return checkRoutes(loadPolicy(file, {}).routes, definitions, { file, repository: REPOSITORY, ...(loaded ? { loaded } : {}) });
}

describe('routes checked against the model repository', () => {
  it('accept what the shipped policy example routes, a cascade over versions, and a route named after the model it routes', () => {
    expect(
      check([
        {
          name: 'classify',
          tiers: [mlp('cheap', '1'), mlp('full', '2')],
          policy: { type: 'cascade', output: 'probabilities', threshold: 0.6 },
        },
        {
          name: 'mlp-classifier',
          tiers: [mlp('stable', '1'), mlp('next', '2')],
          policy: { type: 'weighted', weights: { stable: 9, next: 1 } },
        },
        { name: 'reviewed', tiers: [mlp('only')], review: { threshold: 0.5, output: 'probabilities' } },
      ]),
    ).toEqual([]);
  });

  it.each([
    [
      [{ name: 'r', tiers: [{ name: 't', model: 'does-not-exist', version: '7' }] }],
      /routes\[0\]\.tiers\[0\]\.model: no model "does-not-exist" in the model repository/,
    ],
    [
      [{ name: 'r', tiers: [mlp('t', '9')] }],
      /routes\[0\]\.tiers\[0\]\.version: model "mlp-classifier" serves no version 9 \(it serves 1, 2\)/,
    ],
    [
      [
        { name: 'r1', tiers: [{ name: 't', model: 'r2' }] },
        { name: 'r2', tiers: [{ name: 't', model: 'r1' }] },
      ],
      /routes\[0\]\.tiers\[0\]\.model: no model "r2" .*\("r2" is a route: tiers name models\)/,
    ],
    [
      [{ name: 'r', tiers: [mlp('a', '1'), mlp('b', '2')], policy: { type: 'cascade', output: 'probabilty', threshold: 0.5 } }],
      /routes\[0\]\.policy\.output: tier "a" \(model "mlp-classifier"\) has no output "probabilty" \(it has probabilities\)/,
    ],
    [
      [{ name: 'r', tiers: [mlp('a')], review: { threshold: 0.5, output: 'nope' } }],
      /routes\[0\]\.review\.output: tier "a" .* has no output "nope"/,
    ],
    [
      [{ name: 'explain-linear', tiers: [mlp('t')] }],
      /routes\[0\]\.name: "explain-linear" is also a model, which the route would make unreachable/,
    ],
  ])('refuse %j, naming the field', (routes, message) => {
    expect(() => check(routes)).toThrow(message);
  });

  it('warn of a routed model left out of LOAD_MODELS (it can be loaded later)', () => {
    expect(check([{ name: 'r', tiers: [mlp('t'), { name: 'u', model: 'text-recognizer' }] }], ['mlp-classifier'])).toEqual([
      'routes[0].tiers[1]: model "text-recognizer" is not in LOAD_MODELS; requests to it fail until it is loaded (repository API)',
    ]);
  });
});
