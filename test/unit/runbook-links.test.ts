import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CHART, render, type Manifest } from '../helpers/helm.js';

/**
 * Every alert the chart renders links to its runbook: a `runbook_url` of the configured base and
 * an anchor that one of docs/runbooks.md's headings produces. The runbooks name only metrics the
 * code exports and endpoints the gateway (or a worker's metrics listener) registers.
 */
const ROOT = join(CHART, '../..');
const RUNBOOKS = readFileSync(join(ROOT, 'docs/runbooks.md'), 'utf8');
const DEFAULT_BASE = (
  parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { monitoring: { prometheusRule: { runbookBaseUrl: string } } }
).monitoring.prometheusRule.runbookBaseUrl;
const REDIS = { redis: { url: 'redis://redis.example:6379' } };

/** GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const anchors = new Set([...RUNBOOKS.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) => slug(heading!.trim())));

type Rule = { alert?: string; annotations?: Record<string, string> };
function alerts(values: object[]): Rule[] {
  type PrometheusRule = Manifest & { spec: { groups: { rules: Rule[] }[] } };
  const rule = render([REDIS, ...values]).find((manifest) => manifest.kind === 'PrometheusRule') as PrometheusRule | undefined;
  if (!rule) throw new Error('no PrometheusRule rendered');
  return rule.spec.groups.flatMap((group) => group.rules).filter((entry) => entry.alert !== undefined);
}

describe('alert runbook links', () => {
  it('every rendered alert has a runbook_url at the default base whose anchor is a heading of docs/runbooks.md', () => {
    const rendered = alerts([]);
    expect(rendered.length).toBeGreaterThan(3);
    for (const { alert, annotations } of rendered) {
      const url = annotations?.runbook_url ?? '';
      expect(url, alert).toBe(`${DEFAULT_BASE}#${alert!.toLowerCase()}`);
      expect(anchors, `${alert}: no heading "${url.split('#')[1]}" in docs/runbooks.md`).toContain(url.split('#')[1]);
    }
    // The shipped annotations survive beside the link.
    expect(rendered.every(({ annotations }) => annotations?.summary && annotations.description)).toBe(true);
  });

  it('the base URL is a value', () => {
    const base = 'https://docs.example.com/switchyard/runbooks.html';
    const urls = alerts([{ monitoring: { prometheusRule: { runbookBaseUrl: base } } }]).map(({ alert, annotations }) => [
      alert,
      annotations?.runbook_url,
    ]);
    expect(urls).toEqual(urls.map(([alert]) => [alert, `${base}#${alert!.toLowerCase()}`]));
  });

  it('links inside docs/runbooks.md land on its own headings', () => {
    const links = [...RUNBOOKS.matchAll(/\]\(#([^)]+)\)/g)].map(([, anchor]) => anchor!);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((anchor) => !anchors.has(anchor))).toEqual([]);
  });

  it('names only metrics the code exports and endpoints the code registers', () => {
    const metricsSource = ['gateway/metrics', 'workers/metrics']
      .flatMap((folder) => readdirTs(join(ROOT, folder)))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    // Families are declared as name('…'), '…' or `${METRIC_PREFIX}…`.
    const declared = (name: string) => new RegExp(`['}]${name.slice('switchyard_'.length)}['\`]`).test(metricsSource);
    const metrics = new Set([...RUNBOOKS.matchAll(/\bswitchyard_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, '')));
    expect(metrics.size).toBeGreaterThan(15);
    expect([...metrics].filter((name) => !declared(name))).toEqual([]);

    const routesSource = ['gateway/routes', 'workers/metrics']
      .flatMap((folder) => readdirTs(join(ROOT, folder)))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const endpoints = [...RUNBOOKS.matchAll(/`(GET|POST) (\/[^`?\s]*)/g)].map(([, , path]) =>
      path!.replace(/\{(\w+)\}/g, (_, name: string) => `:${name}`),
    );
    expect(endpoints.length).toBeGreaterThan(10);
    // A doc's {m} is the code's :model; compare the literal parts.
    const literal = (path: string) =>
      path
        .split('/')
        .map((part) => (part.startsWith(':') ? ':' : part))
        .join('/');
    const registered = new Set([...routesSource.matchAll(/['`](\/[a-z0-9/:_.-]*)['`]/gi)].map(([, path]) => literal(path!)));
    expect(endpoints.filter((path) => !registered.has(literal(path)))).toEqual([]);
  });
});

function readdirTs(folder: string): string[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file));
}
