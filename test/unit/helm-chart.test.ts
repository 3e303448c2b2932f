import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../gateway/policy/policy-config.js';
import { inferQueueName, waitingKeys } from '../../workers/queue/queue-names.js';
import { configEnvironmentNames } from '../helpers/environment-names.js';

/**
 * There is no helm binary on our machines, and npm has no maintained Go-template renderer:
 * nothing here renders the chart. These check what can be checked without one. Chart.yaml
 * and values parse; default values (and values-gpu.yaml) validate against values.schema.json;
 * every file a template reads exists; every .Values path (and every field of a `range`
 * variable over one) is in values.yaml and in the schema; every included template is
 * defined; actions and blocks nest; env names are ones Switchyard reads; and the queue
 * names KEDA counts are the ones the code uses.
 */
const CHART = join(import.meta.dirname, '../../helm/switchyard');
const listTemplates = (dir: string): string[] =>
  readdirSync(join(CHART, dir)).flatMap((entry) => (statSync(join(CHART, dir, entry)).isDirectory() ? listTemplates(join(dir, entry)) : [join(dir, entry)]));
const templates = listTemplates('templates').map((file) => ({ file, text: readFileSync(join(CHART, file), 'utf8') }));
const template = (file: string): string => templates.find((t) => t.file === `templates/${file}`)!.text;
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
const actions = (text: string): string[] => [...text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '').matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)].map(([, body]) => body!);

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
      if (expression.startsWith('$.Values') || expression.startsWith('.Values')) found.push({ path: toPath(expression)!, where: expression });
      else {
        const path = toPath(expression);
        // A variable with fields that is not bound to values must be one of the few non-values ones.
        if (!path) expect(['$existing'], `unknown variable in ${expression}`).toContain(expression.split('.')[0]);
        else found.push({ path, where: expression });
      }
    }
  }
  return found;
}

describe('the Helm chart (checked without helm)', () => {
  it('Chart.yaml and values.yaml parse', () => {
    expect(readYaml('Chart.yaml')).toMatchObject({ apiVersion: 'v2', name: 'switchyard', appVersion: expect.any(String) });
    expect(Object.keys(values).sort()).toEqual(['apiKeys', 'gateway', 'keda', 'loadtest', 'modelRepository', 'monitoring', 'networkPolicy', 'policy', 'redis', 'tests', 'workerPools']);
  });

  it('the default values, and values-gpu.yaml over them, validate against values.schema.json; a misspelt key does not', () => {
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    const gpu = { ...values, ...readYaml('values-gpu.yaml') };
    expect(validate(gpu), JSON.stringify(validate.errors)).toBe(true);
    const pools = gpu.workerPools as { resources: { limits: Record<string, unknown> } }[];
    expect(pools.every((pool) => pool.resources.limits['nvidia.com/gpu'] === 1)).toBe(true);
    expect(validate({ ...values, gateway: { ...(values.gateway as object), replica: 3 } })).toBe(false);
    expect(validate({ ...values, workerPools: [{ ...(values.workerPools as object[])[0], runtime: 'cuda' }] })).toBe(false);
  });

  it('the default policy is one the gateway accepts, with an admin tenant whose key is a file from the Secret', () => {
    const policy = policySchema.parse((values.policy as { config: unknown }).config);
    const admin = policy.tenants.find((tenant) => tenant.role === 'admin')!;
    const { adminKey, keys } = values.apiKeys as { adminKey: string; keys: Record<string, string> };
    expect(admin.keys).toContainEqual({ file: `/etc/switchyard/keys/${adminKey}` });
    expect(Object.keys(keys)).toContain(adminKey);
    expect(template('gateway-deployment.yaml')).toMatch(/mountPath: \/etc\/switchyard\/keys\n/);
  });

  it('every file the templates read exists', () => {
    const files = templates.flatMap(({ text }) => [...text.matchAll(/\.Files\.Get\s+"([^"]+)"/g)].map(([, path]) => path!));
    expect(files.sort()).toEqual(['files/grafana-dashboard.json', 'files/prometheus-rules.yaml']);
    for (const file of files) expect(existsSync(join(CHART, file))).toBe(true);
  });

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

  it('every included template is defined, and every defined one is used', () => {
    const defined = templates.flatMap(({ text }) => [...text.matchAll(/define\s+"([^"]+)"/g)].map(([, name]) => name!));
    const included = new Set(templates.flatMap(({ text }) => [...text.matchAll(/include\s+"([^"]+)"/g)].map(([, name]) => name!)));
    expect(new Set(defined).size).toBe(defined.length);
    for (const name of included) expect(defined, name).toContain(name);
    for (const name of defined) expect([...included], name).toContain(name);
  });

  it('template actions and blocks nest: if/with/range/define each end, else only inside them, brackets balance', () => {
    for (const { file, text } of templates) {
      expect(text.split('{{').length, file).toBe(text.split('}}').length);
      const open: string[] = [];
      for (const body of actions(text)) {
        const keyword = /^(\w+)/.exec(body)?.[1];
        if (keyword === 'if' || keyword === 'with' || keyword === 'range' || keyword === 'define') open.push(keyword);
        else if (keyword === 'else') expect(['if', 'with', 'range'], `${file}: {{ ${body} }}`).toContain(open.at(-1));
        else if (keyword === 'end') expect(open.pop(), `${file}: an end with nothing open`).toBeDefined();
        const unquoted = body.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        expect(unquoted.split('(').length, `${file}: {{ ${body} }}`).toBe(unquoted.split(')').length);
        expect((body.match(/(?<!\\)"/g) ?? []).length % 2, `${file}: {{ ${body} }}`).toBe(0);
      }
      expect(open, `${file}: unclosed blocks`).toEqual([]);
    }
  });

  it('the gateway and worker pods set only environment names Switchyard reads', () => {
    const names = configEnvironmentNames();
    expect(names.has('REDIS_URL') && names.has('METRICS_PORT')).toBe(true);
    for (const file of ['gateway-deployment.yaml', 'worker-deployments.yaml', '_helpers.tpl']) {
      const set = [...template(file).matchAll(/- name: ([A-Z][A-Z0-9_]+)\n\s+value/g)].map(([, name]) => name!);
      expect(set.length, file).toBeGreaterThan(2);
      for (const name of set) expect(names, `${file}: ${name}`).toContain(name);
    }
  });

  it('probes ask the endpoints that exist: gateway health, worker /ready on the metrics port', () => {
    const root = join(CHART, '../..');
    const health = readFileSync(join(root, 'gateway/routes/health.ts'), 'utf8');
    const gateway = template('gateway-deployment.yaml');
    for (const path of ['/v2/health/live', '/v2/health/ready']) {
      expect(gateway).toContain(`path: ${path}`);
      expect(health).toContain(`'${path}'`);
    }
    expect(template('worker-deployments.yaml')).toMatch(/readinessProbe:\n\s+httpGet: \{ path: \/ready, port: metrics \}/);
    expect(readFileSync(join(root, 'workers/metrics/metrics-server.ts'), 'utf8')).toContain("path === '/ready'");
  });

  it('a worker\'s grace period outlasts its drain, which outlasts its longest job', () => {
    const workers = template('worker-deployments.yaml');
    expect(workers).toContain('terminationGracePeriodSeconds: {{ add $pool.preStopSeconds $pool.maxJobSeconds 15 }}');
    expect(workers).toContain('value: {{ mul (add $pool.maxJobSeconds 10) 1000 | quote }}');
    // drain = maxJob + 10 s < preStop + maxJob + 15 s, for any preStop >= 0.
  });

  it('KEDA counts the queues the code uses: BullMQ\'s wait list per model version, or the gateway\'s queue-depth metric', () => {
    const scaled = template('worker-scaledobjects.yaml');
    const listName = /listName: \{\{ printf "([^"]+)" \$\.Values\.redis\.prefix \$model\.name \$version/.exec(scaled);
    expect(listName).not.toBeNull();
    const [prefix, model, version] = ['switchyard', 'mlp-classifier', '2'];
    expect(listName![1]!.replace('%s', prefix).replace('%s', model).replace('%s', version)).toBe(waitingKeys(prefix, inferQueueName(model, version)).wait);
    // The prometheus query's per-model pattern, with the template's escapes as PromQL (RE2) reads them.
    const pattern = /queue=~"\{\{ range [^}]+\}\}\{\{ if \$i \}\}\|\{\{ end \}\}(.+?)\{\{ \$model\.name[^}]+\}\}(.+?)\{\{ end \}\}"/.exec(scaled);
    expect(pattern).not.toBeNull();
    const unescape = (part: string): string => part.replace(/\\\\/g, '\\');
    const regex = new RegExp(`^${unescape(pattern![1]!)}${model.replace(/[.-]/g, '\\$&')}${unescape(pattern![2]!)}$`);
    expect(regex.test(inferQueueName(model, version))).toBe(true);
    expect(regex.test(inferQueueName('other', version))).toBe(false);
    expect(readFileSync(join(CHART, '../../gateway/metrics/gateway-metrics.ts'), 'utf8')).toContain("name('queue_depth')");
    expect(scaled).toContain('switchyard_queue_depth{');
  });

  it('the load-test Job runs the CLI the issue names, off by default, with a TTL and the report on a volume', () => {
    const job = template('loadtest-job.yaml');
    expect((values.loadtest as { enabled: boolean }).enabled).toBe(false);
    expect(job.startsWith('{{- if .Values.loadtest.enabled }}')).toBe(true);
    // The image has no TypeScript compiler: the Job runs the compiled CLI, which the build makes from this source.
    expect(existsSync(join(CHART, '../../bench/loadtest/cli.ts'))).toBe(true);
    for (const flag of ['exec node dist/bench/loadtest/cli.js', '--target {{ printf "http://%s-gateway:%v"', '--scenario ', '--duration {{ .Values.loadtest.durationSeconds }}', '--out /reports', '--key "$LOADTEST_KEY"']) expect(job).toContain(flag);
    expect(job).toContain('ttlSecondsAfterFinished: {{ .Values.loadtest.ttlSecondsAfterFinished }}');
    expect(job).toMatch(/claimName: \{\{ \.Release\.Name \}\}-loadtest-reports[\s\S]*emptyDir: \{\}/);
  });

  it('the Helm test hook posts an inference to the gateway Service with the admin key', () => {
    const test = template('tests/test-inference.yaml');
    expect(test).toContain('helm.sh/hook: test');
    expect(test).toContain('/v2/models/${process.env.MODEL}/infer');
    expect(test).toMatch(/secretKeyRef:\n\s+name: \{\{ include "switchyard.keysSecret" \. \}\}\n\s+key: \{\{ \.Values\.apiKeys\.adminKey \}\}/);
  });
});
