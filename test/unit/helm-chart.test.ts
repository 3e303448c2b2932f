import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * What rendering cannot say (test/unit/helm-render.test.ts renders the chart with helm over a
 * matrix of values): a `.Values` path that is in neither values.yaml nor the schema renders as
 * nothing, silently, and a defined template nobody includes is dead code.
 */
const CHART = join(import.meta.dirname, '../../helm/switchyard');
const listTemplates = (dir: string): string[] =>
  readdirSync(join(CHART, dir)).flatMap((entry) =>
    statSync(join(CHART, dir, entry)).isDirectory() ? listTemplates(join(dir, entry)) : [join(dir, entry)],
  );
const templates = listTemplates('templates').map((file) => ({ file, text: readFileSync(join(CHART, file), 'utf8') }));
const readYaml = (file: string): Record<string, unknown> => parseYaml(readFileSync(join(CHART, file), 'utf8')) as Record<string, unknown>;
const values = readYaml('values.yaml');
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Schema;

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: boolean | Schema;
}

/** Follows a path through values; `[]` steps into the first element of a list. */
const lookup = (path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => {
    if (key === '[]') return Array.isArray(node) ? node[0] : undefined;
    return node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }, values);

/** Follows a path through the schema: named properties, list items, or a map's value schema. */
const schemaAt = (path: readonly string[]): Schema | undefined =>
  path.reduce<Schema | undefined>((node, key) => {
    if (!node) return undefined;
    if (key === '[]') return node.items ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    return node.properties?.[key];
  }, schema);

/** The actions of a template, comments left out. */
const actions = (text: string): string[] =>
  [...text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '').matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)].map(([, body]) => body!);

/**
 * Every values path one template reads: `.Values.a.b` (also as `$.Values`), and `$v.c` where
 * `range $v := <a values path or another such variable>` bound $v to the list's elements.
 */
function valuesPaths(text: string): { path: string[]; where: string }[] {
  const variables = new Map<string, string[]>();
  const toPath = (expression: string): string[] | undefined => {
    const direct = /^\$?\.Values((?:\.\w+)+)$/.exec(expression);
    if (direct) return direct[1]!.slice(1).split('.');
    const variable = /^(\$\w+)((?:\.\w+)*)$/.exec(expression);
    const base = variable && variables.get(variable[1]!);
    return base ? [...base, ...(variable[2] ? variable[2].slice(1).split('.') : [])] : undefined;
  };
  const found: { path: string[]; where: string }[] = [];
  for (const body of actions(text)) {
    const range = /^range\s+(?:\$\w+\s*,\s*)?(\$\w+)\s*:=\s*(\S+)$/.exec(body);
    if (range) {
      const path = toPath(range[2]!);
      if (path) variables.set(range[1]!, [...path, '[]']);
    }
    for (const [expression] of body.matchAll(/\$?\.Values(?:\.\w+)+|\$\w+(?:\.\w+)+/g)) {
      if (expression.startsWith('$.Values') || expression.startsWith('.Values'))
        found.push({ path: toPath(expression)!, where: expression });
      else {
        const path = toPath(expression);
        // A variable with fields that is not bound to values must be one of the few non-values ones:
        // a looked-up Secret, and the shipped alert rules read from files/ (their groups and rules).
        if (!path)
          expect(['$existing', '$rules', '$group', '$rule'], `unknown variable in ${expression}`).toContain(expression.split('.')[0]);
        else found.push({ path, where: expression });
      }
    }
  }
  return found;
}

describe("the Helm chart's templates (what rendering cannot say)", () => {
  it('every values path the templates use is in values.yaml and in values.schema.json', () => {
    const paths = templates.flatMap(({ file, text }) => valuesPaths(text).map((entry) => ({ ...entry, file })));
    expect(paths.length).toBeGreaterThan(100);
    // Fields of range variables are checked too (a pool's, a model's).
    expect(paths.some(({ where }) => where === '$pool.keda.targetQueueDepth')).toBe(true);
    for (const { path, where, file } of paths) {
      expect(lookup(path), `${file}: ${where}`).not.toBeUndefined();
      expect(schemaAt(path), `${file}: ${where} (schema)`).not.toBeUndefined();
    }
  });

  it('every defined template is used', () => {
    const defined = templates.flatMap(({ text }) => [...text.matchAll(/define\s+"([^"]+)"/g)].map(([, name]) => name!));
    const included = new Set(templates.flatMap(({ text }) => [...text.matchAll(/include\s+"([^"]+)"/g)].map(([, name]) => name!)));
    expect(defined.length).toBeGreaterThan(5);
    for (const name of defined) expect([...included], name).toContain(name);
  });
});
