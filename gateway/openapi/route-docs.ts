import type { ErrorCode } from '../../workers/protocol/errors.js';

/** The document's sections, in the order it lists them. */
export const TAGS = {
  health: 'Liveness and readiness (no key).',
  inference: "Open Inference Protocol (KServe v2) inference, with Triton's binary tensor extension.",
  models: 'Model and server metadata, readiness, configuration and statistics.',
  tasks: 'Pipelines run as tasks: synchronous, asynchronous (Prefer: respond-async), batches, progress events.',
  reviews: 'The human review queue (admin keys).',
  spend: 'Cost ledger.',
  admin: 'Operations: dead letters, audit log, routes, metrics, console (admin keys).',
  triton: 'Triton extensions: model repository, shared memory, trace and log settings.',
  docs: 'This document.',
} as const;

export type Tag = keyof typeof TAGS;

/** A JSON Schema (the 2020-12 subset both ajv and OpenAPI 3.1 read). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A response the route sends when it succeeds. */
export interface SuccessResponse {
  readonly description: string;
  /** Media type → body schema; none for an empty body. */
  readonly content?: Readonly<Record<string, JsonSchema>>;
  readonly headers?: Readonly<Record<string, JsonSchema>>;
}

/**
 * What the OpenAPI document says about a route beyond the parts fastify validates
 * (`schema.params`, `querystring`, `headers`, `body`, which are documented as they are).
 * Every route has one: a test fails for a route without.
 */
export interface RouteDocs {
  readonly tag: Tag;
  readonly summary: string;
  readonly description?: string;
  /** The codes this route may answer with besides those every route may (see common-errors.ts). */
  readonly errors?: readonly ErrorCode[];
  /** By status. */
  readonly responses?: Readonly<Record<number, SuccessResponse>>;
  /**
   * Parts the server checks by hand (a parser that ajv would slow, or one with its own error
   * codes), described here for the document only. Each needs a test that the schema
   * accepts and refuses what the hand parser does (as test/unit/openapi-infer-body.test.ts).
   */
  readonly handChecked?: {
    /** Media type → schema. */
    readonly body?: Readonly<Record<string, JsonSchema>>;
    readonly headers?: JsonSchema;
    readonly params?: JsonSchema;
    readonly querystring?: JsonSchema;
  };
  /** The route reads no body (bodylessRoutes): nothing is documented as one. */
  readonly bodyless?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    docs?: RouteDocs;
  }
}

/** A route's `config` with its docs: `app.get(url, { config: docs({...}) }, handler)`. */
export const docs = (route: RouteDocs): { docs: RouteDocs } => ({ docs: route });

/** Shared parts. */
export const json = (schema: JsonSchema): Readonly<Record<string, JsonSchema>> => ({ 'application/json': schema });
export const MODEL_PARAM = { type: 'string', description: 'A model, or a route (policy) that names models by tier.' } as const;
export const VERSION_PARAM = {
  type: 'string',
  description: 'A model version (a positive integer); the default version when absent.',
} as const;
export const ANY_OBJECT = { type: 'object' } as const;
export const EMPTY_OBJECT = { type: 'object', maxProperties: 0 } as const;
