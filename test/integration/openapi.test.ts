import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuthFree } from '../../gateway/auth/authenticate.js';
import { ERROR_TABLE } from '../../workers/protocol/errors.js';
import { documentedApp, type DocumentedApp } from '../helpers/documented-app.js';
import { get } from '../helpers/gateway.js';
import { TASK_KEYS, taskFixture } from '../helpers/task-fixture.js';

type CodeSchema = { properties?: { code?: { enum?: string[] } } };
type Operation = {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: CodeSchema & { oneOf?: CodeSchema[] } }> }>;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

const fixture = taskFixture();
let gateway: DocumentedApp;
let document: Document;

/** fastify's `/v2/models/:model/infer` as OpenAPI writes it. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const operations = (): [string, string, Operation][] =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): [string, string, Operation] => [path, method, op]),
  );

beforeAll(async () => {
  gateway = await documentedApp({ MODEL_REPOSITORY: fixture.repository.dir, ...fixture.env });
  const reply = await get(`${gateway.url}/openapi.json`);
  expect(reply.status).toBe(200);
  document = reply.json as unknown as Document;
});
afterAll(async () => {
  await gateway.close();
  fixture.repository.remove();
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every registered route, each with its summary and tag, and nothing else', () => {
    const registered = gateway.routes.filter((route) => route.method !== 'HEAD');
    expect(registered.length).toBeGreaterThan(40);
    const missing = registered
      .filter((route) => document.paths[openApiPath(route.url)]?.[String(route.method).toLowerCase()]?.summary === undefined)
      .map((route) => `${String(route.method)} ${route.url}`);
    // A route listed here needs `config: docs({...})` (gateway/openapi/route-docs.ts; docs/openapi.md).
    expect(missing).toEqual([]);
    for (const [, , op] of operations()) expect(op.tags).toHaveLength(1);
    const documented = operations()
      .map(([path, method]) => `${method.toUpperCase()} ${path}`)
      .sort();
    expect(documented).toEqual(registered.map((route) => `${String(route.method)} ${openApiPath(route.url)}`).sort());
    // HEAD is fastify's automatic twin of a GET, said once in the document's description.
    for (const head of gateway.routes.filter((route) => route.method === 'HEAD')) {
      expect(document.paths[openApiPath(head.url)]?.get, head.url).toBeDefined();
    }
  });

  it('lists only codes of the error table, each under its own status', () => {
    let listed = 0;
    for (const [path, method, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/json']?.schema;
        // A status may also carry the route's own answer (readiness 503): its errors are then one of two.
        const codes = [schema, ...(schema?.oneOf ?? [])].flatMap((one) => one?.properties?.code?.enum ?? []);
        for (const code of codes) {
          expect(Object.keys(ERROR_TABLE), `${method} ${path}`).toContain(code);
          expect(String(ERROR_TABLE[code as keyof typeof ERROR_TABLE].status), `${method} ${path} ${code}`).toBe(status);
          listed += 1;
        }
      }
    }
    expect(listed).toBeGreaterThan(200);
  });

  it('marks exactly the routes answered without a key, and the server agrees', async () => {
    for (const [path, method, op] of operations()) {
      const url = path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
      expect(op.security === undefined ? 'key' : 'open', `${method} ${path}`).toBe(isAuthFree(method.toUpperCase(), url) ? 'open' : 'key');
      if (op.security === undefined)
        expect(op.responses['401']?.content?.['application/json']?.schema?.properties?.code?.enum, `${method} ${path}`).toEqual([
          'unauthorized',
        ]);
    }
    expect((await get(`${gateway.url}/openapi.json`)).status).toBe(200);
    expect((await get(`${gateway.url}/v2/models`)).json.code).toBe('unauthorized');
    expect((await get(`${gateway.url}/v2/models`, { authorization: `Bearer ${TASK_KEYS.admin}` })).status).toBe(200);
  });
});

const admin = { authorization: `Bearer ${TASK_KEYS.admin}` };

describe('the route schemas are what the server checks', () => {
  it.each([
    ['/v1/admin/audit?limit=0', 'querystring/limit'],
    ['/v1/admin/audit?limit=10001', 'querystring/limit'],
    ['/v2/admin/dead-letters?limit=abc', 'querystring/limit'],
    ['/v1/reviews?limit=5000', 'querystring/limit'],
    ['/v1/reviews?state=open', 'querystring/state'],
    ['/v1/reviews?newer_than_s=soon', 'querystring/newer_than_s'],
    ['/v1/reviews/export?state=pending', 'querystring/state'],
    ['/v1/spend?from=2026-1-1', 'querystring/from'],
  ])('GET %s: 400 invalid_parameter naming %s, as the document says', async (url, field) => {
    const reply = await get(`${gateway.url}${url}`, admin);
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'invalid_parameter' });
    expect(reply.json.error).toContain(field);
    const path = url.split('?')[0]!;
    expect(document.paths[path]!.get!.responses['400']!.content!['application/json']!.schema!.properties!.code!.enum).toContain(
      'invalid_parameter',
    );
  });

  it('answers in the shapes the document gives', async () => {
    const ajv = new Ajv2020({ strict: false });
    const paths = [
      '/v2',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models',
      '/v2/models/{model}',
      '/v2/models/{model}/ready',
      '/v2/models/{model}/config',
      '/v1/pipelines',
    ].concat([
      '/v1/admin/audit',
      '/v1/admin/routes',
      '/v1/spend',
      '/v1/reviews',
      '/v2/logging',
      '/v2/trace/setting',
      '/v2/models/stats',
      '/v2/models/{model}/stats',
      '/openapi.json',
    ]);
    for (const path of paths) {
      const reply = await get(`${gateway.url}${path.replace('{model}', 'echo')}`, admin);
      const documented = (
        document.paths[path]!.get!.responses[String(reply.status)] as { content?: Record<string, { schema: object }> } | undefined
      )?.content?.['application/json']?.schema;
      expect(documented, `${path} ${reply.status}`).toBeDefined();
      const check = ajv.compile(documented!);
      expect(check(reply.json), `${path}: ${JSON.stringify(check.errors)}`).toBe(true);
    }
  });
});

describe('bodies checked by hand agree with the schemas that describe them', () => {
  const post = async (path: string, body: unknown): Promise<number> =>
    (
      await fetch(`${gateway.url}${path}`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).status;
  const described = (path: string) => {
    const schema = (document.paths[path]!.post as unknown as { requestBody: { content: Record<string, { schema: object }> } }).requestBody
      .content['application/json']!.schema;
    return new Ajv2020({ strict: false }).compile(schema);
  };

  it.each([
    [
      '/v2/logging',
      [
        {},
        { log_info: false },
        { log_verbose_level: 2 },
        { log_file: '' },
        { log_format: 'default' },
        { log_warning: true, log_error: true },
      ],
    ],
    [
      '/v2/logging',
      [
        [],
        null,
        'info',
        { log_info: 'no' },
        { log_verbose_level: -1 },
        { log_verbose_level: 1.5 },
        { log_verbose_level: 1e20 },
        { log_file: 'x.log' },
        { log_format: 'text' },
        { verbose: 1 },
      ],
    ],
    ['/v2/repository/index', [{}, { ready: true }, { ready: 'yes' }, [], 'all']],
  ])('POST %s', async (path, bodies) => {
    const check = described(path);
    for (const body of bodies) {
      const status = await post(path, body);
      expect({ body, accepted: status < 400 }).toEqual({ body, accepted: check(body) });
    }
    // Logging back to silent, as the test app started.
    await post('/v2/logging', { log_info: false, log_warning: false, log_error: false, log_verbose_level: 0 });
  });
});
