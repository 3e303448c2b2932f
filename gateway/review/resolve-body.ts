import { z } from 'zod';
import { ServingError } from '../../workers/protocol/errors.js';
import { invalidJson } from '../http/json-error.js';
import type { ReviewDecision } from './review-item.js';

const resolveBody = z.discriminatedUnion('decision', [
  z.strictObject({ decision: z.literal('approve') }),
  // Any JSON is a valid correction (labels, tensors, text): only its presence is checked.
  z.strictObject({ decision: z.literal('correct'), output: z.unknown().refine((value) => value !== undefined, 'required') }),
]);

/** The body as JSON Schema, for the OpenAPI document: written from the zod schema that checks it. */
export const RESOLVE_BODY_SCHEMA = (({ $schema: _dialect, ...schema }) => schema)(z.toJSONSchema(resolveBody, { io: 'input' }));

/** `{"decision":"approve"}` or `{"decision":"correct","output":<JSON>}`; a 400 names what is wrong. */
export function readResolveBody(body: unknown): { decision: ReviewDecision; humanOutput?: unknown } {
  if (!Buffer.isBuffer(body) || body.length === 0)
    throw new ServingError('empty_body', 'send {"decision":"approve"} or {"decision":"correct","output":...}');
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidJson('the body', body);
  }
  const parsed = resolveBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ServingError(
      'invalid_parameter',
      `${issue.path.join('.') || 'body'}: ${issue.message} (send {"decision":"approve"} or {"decision":"correct","output":...})`,
    );
  }
  return parsed.data.decision === 'approve' ? { decision: 'approved' } : { decision: 'corrected', humanOutput: parsed.data.output };
}
