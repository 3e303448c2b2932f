import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * There is no helm binary on our machines: these check what can be checked without one.
 * Chart.yaml and values.yaml parse, every file a template reads exists, every .Values path
 * a template uses is in values.yaml, and template actions and blocks balance.
 */
const CHART = join(import.meta.dirname, '../../helm/switchyard');
const templates = readdirSync(join(CHART, 'templates')).map((file) => ({ file, text: readFileSync(join(CHART, 'templates', file), 'utf8') }));
const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;

const lookup = (path: readonly string[]): unknown => path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), values);

describe('the Helm chart (checked without helm)', () => {
  it('Chart.yaml and values.yaml parse', () => {
    expect(parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'))).toMatchObject({ apiVersion: 'v2', name: 'switchyard' });
    expect(values).toHaveProperty('monitoring');
  });

  it('every file the templates read exists', () => {
    const files = templates.flatMap(({ text }) => [...text.matchAll(/\.Files\.Get\s+"([^"]+)"/g)].map(([, path]) => path!));
    expect(files.sort()).toEqual(['files/grafana-dashboard.json', 'files/prometheus-rules.yaml']);
    for (const file of files) expect(existsSync(join(CHART, file))).toBe(true);
  });

  it('every .Values path the templates use is in values.yaml', () => {
    const paths = templates.flatMap(({ text }) => [...text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map(([, path]) => path!.slice(1).split('.')));
    expect(paths.length).toBeGreaterThan(3);
    for (const path of paths) expect(lookup(path), path.join('.')).not.toBeUndefined();
  });

  it('template actions and blocks balance', () => {
    for (const { file, text } of templates) {
      expect(text.split('{{').length, file).toBe(text.split('}}').length);
      const opened = [...text.matchAll(/\{\{-?\s*(if|with|range|define)\b/g)].length;
      const closed = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
      expect(closed, file).toBe(opened);
    }
  });
});
