import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { isAuthFree } from '../auth/authenticate.js';
import { commonErrors } from './common-errors.js';
import { errorResponses, type ErrorResponse } from './error-responses.js';
import { TAGS, type RouteDocs } from './route-docs.js';

const DESCRIPTION = [
  "Switchyard's HTTP API, generated from the route schemas the server validates with (fastify + ajv) and",
  'each route\'s docs (gateway/openapi/route-docs.ts). Every error is `{"error": "...", "code": "..."}` with a',
  'stable code from the one error table; 503 and 409 idempotency_in_progress carry Retry-After. Every GET also',
  'answers HEAD. Every response carries x-request-id.',
].join(' ');

type Schema = Record<string, unknown>;

/** The OpenAPI operation's schema for one route: what fastify validates, plus its docs, plus the errors it may answer. */
export function operationSchema(route: Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>): Schema {
  const validated = (route.schema ?? {}) as Schema;
  const docs = (route.config as { docs?: RouteDocs } | undefined)?.docs;
  const method = String(route.method);
  const authFree = isAuthFree(method, route.url);
  const hand = docs?.handChecked ?? {};
  const errors = [
    ...commonErrors({
      authFree,
      method,
      bodyless: docs?.bodyless === true,
      validatesParameters: ['params', 'querystring', 'headers'].some((part) => validated[part] !== undefined),
      validatesBody: validated.body !== undefined,
    }),
    ...(docs?.errors ?? []),
  ];
  const success: Schema = {};
  for (const [status, response] of Object.entries(docs?.responses ?? { 200: { description: 'OK' } })) {
    const headers = response.headers ? { headers: response.headers } : {};
    success[status] = response.content
      ? {
          description: response.description,
          content: Object.fromEntries(Object.entries(response.content).map(([type, schema]) => [type, { schema }])),
          ...headers,
        }
      : { description: response.description, type: 'null', ...headers };
  }
  const body =
    validated.body ??
    (hand.body ? { content: Object.fromEntries(Object.entries(hand.body).map(([type, schema]) => [type, { schema }])) } : undefined);
  return {
    ...(docs ? { summary: docs.summary, tags: [docs.tag] } : {}),
    ...(docs?.description ? { description: docs.description } : {}),
    ...(authFree ? { security: [] } : {}),
    ...((validated.params ?? hand.params) ? { params: validated.params ?? hand.params } : {}),
    ...((validated.querystring ?? hand.querystring) ? { querystring: validated.querystring ?? hand.querystring } : {}),
    ...((validated.headers ?? hand.headers)
      ? { headers: mergeObjects(hand.headers as Schema | undefined, validated.headers as Schema | undefined) }
      : {}),
    ...(body ? { body } : {}),
    response: withErrors(success, errorResponses(errors)),
  };
}

/** Where a route's own answer and errors share a status (a readiness 503), either body may come. */
function withErrors(success: Schema, errors: Record<string, ErrorResponse>): Schema {
  const merged: Schema = { ...success };
  for (const [status, error] of Object.entries(errors)) {
    const own = merged[status] as { description: string; content?: Record<string, { schema: object }> } | undefined;
    const ownJson = own?.content?.['application/json']?.schema;
    merged[status] = own
      ? {
          ...own,
          ...(error.headers ? { headers: { ...error.headers, ...(own as { headers?: object }).headers } } : {}),
          description: `${own.description}\n\n${error.description}`,
          content: {
            ...own.content,
            'application/json': {
              schema: ownJson ? { oneOf: [ownJson, error.content['application/json'].schema] } : error.content['application/json'].schema,
            },
          },
        }
      : error;
  }
  return merged;
}

function mergeObjects(a: Schema | undefined, b: Schema | undefined): Schema {
  if (!a || !b) return (a ?? b)!;
  return { type: 'object', properties: { ...(a.properties as Schema), ...(b.properties as Schema) } };
}

/**
 * @fastify/swagger collects every route (its onRoute hook) and writes `GET /openapi.json`'s
 * document from their schemas, so it must be registered before any route. The document
 * is built on the first request for it and cached: start-up pays only the plugin's load.
 */
export function installOpenApi(app: FastifyInstance, server: { readonly name: string; readonly version: string }): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: server.name, version: server.version, description: DESCRIPTION },
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from the policy file: `Authorization: Bearer <key>`.' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: ({ url, route }) => ({ url, schema: operationSchema(route) as never }),
  });
}
