import { ERROR_TABLE, type ErrorCode } from '../../workers/protocol/errors.js';

/** Every error body: OIP's `error` message plus Switchyard's stable `code`. */
export const ERROR_BODY = {
  type: 'object',
  required: ['error', 'code'],
  properties: {
    error: { type: 'string', description: 'What went wrong, for people; never echoes the request.' },
    code: { type: 'string', description: 'Stable code from the error table (docs/errors.md).' },
  },
} as const;

export interface ErrorResponse {
  readonly description: string;
  readonly headers?: Readonly<Record<string, object>>;
  readonly content: { readonly 'application/json': { readonly schema: object } };
}

/**
 * OpenAPI responses for these codes, one per status, each naming its codes (an `enum` on
 * `code`) with their meanings from ERROR_TABLE: the one table, so the document cannot
 * list a code or status the server does not answer with.
 */
export function errorResponses(codes: Iterable<ErrorCode>): Record<string, ErrorResponse> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const { status } = ERROR_TABLE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, ErrorResponse> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    list.sort();
    // As the error handler (gateway/http/error-reply.ts) sends it.
    const retry = status === 503 || list.includes('idempotency_in_progress');
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\`: ${ERROR_TABLE[code].meaning}`).join('\n\n'),
      ...(retry
        ? { headers: { 'retry-after': { type: 'string', pattern: '^[0-9]+$', description: 'Seconds to wait before retrying.' } } }
        : {}),
      content: {
        'application/json': {
          schema: { ...ERROR_BODY, properties: { ...ERROR_BODY.properties, code: { ...ERROR_BODY.properties.code, enum: list } } },
        },
      },
    };
  }
  return responses;
}
