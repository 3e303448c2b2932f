import type { ErrorCode } from '../../workers/protocol/errors.js';

/** What any route may answer: the HTTP parser's and router's refusals, a fault, open mode's origin check. */
const EVERY_ROUTE: readonly ErrorCode[] = [
  'malformed_request',
  'invalid_url',
  'url_too_long',
  'headers_too_large',
  'client_timeout',
  'foreign_origin',
  'internal_error',
];
/** Routes behind a key: authentication, the tenant's rate limit, and Redis for both in distributed mode. */
const WITH_KEY: readonly ErrorCode[] = ['unauthorized', 'rate_limited', 'backend_unavailable'];
/** Routes that read a body: the size limit, the accepted types and encodings. */
const WITH_BODY: readonly ErrorCode[] = ['body_too_large', 'unsupported_media_type'];

export interface RouteShape {
  readonly authFree: boolean;
  readonly method: string;
  /** Registered with bodylessRoutes: its body is never read, but a form body is refused. */
  readonly bodyless: boolean;
  /** Some of params, querystring and headers is validated by fastify (ajv). */
  readonly validatesParameters: boolean;
  readonly validatesBody: boolean;
}

/**
 * The codes a route may answer with whatever it does, from how it is registered: a new
 * route lists only its own (RouteDocs.errors).
 */
export function commonErrors(route: RouteShape): ErrorCode[] {
  return [
    ...EVERY_ROUTE,
    ...(route.authFree ? [] : WITH_KEY),
    ...(route.method === 'POST' ? (route.bodyless ? (['unsupported_media_type'] as const) : WITH_BODY) : []),
    ...(route.validatesParameters ? (['invalid_parameter'] as const) : []),
    ...(route.validatesBody ? (['invalid_request'] as const) : []),
  ];
}
