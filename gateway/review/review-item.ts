import { createHash } from 'node:crypto';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { encodeJsonData } from '../protocol/json-tensor-data.js';

export type ReviewState = 'pending' | 'claimed' | 'resolved';
export type ReviewReason = 'low_confidence' | 'requested' | 'pipeline_decision';
export type ReviewDecision = 'approved' | 'corrected';

/** What was asked: always the body's hash, the body itself only when small enough to keep. */
export interface InputRef {
  readonly sha256: string;
  readonly bytes: number;
  readonly content_type: string;
  /** JSON bodies, parsed, so exports are plain JSON lines. */
  readonly body?: unknown;
  /** Other bodies (binary extension, images), base64. */
  readonly body_base64?: string;
}

/** An output as OIP JSON, for reviewers and for retraining data. */
export interface JsonOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: unknown[];
}

/** One answer waiting for (or given) a human's verdict. */
export interface ReviewItem {
  readonly id: string;
  readonly route: string;
  readonly tenant: string;
  readonly request_id: string;
  readonly created_at: string;
  readonly state: ReviewState;
  readonly reason: ReviewReason;
  /** Undefined when the review output was missing from the answer (a requested review). */
  readonly confidence?: number;
  readonly model: string;
  readonly version: string;
  readonly input_ref: InputRef;
  /** An inference's outputs (OIP JSON), or a task's result outputs (by pipeline output name). */
  readonly model_output: readonly JsonOutput[] | Readonly<Record<string, unknown>>;
  /** Which parts of the input drove the answer (gateway/explain/), on routes whose review has `explain: true`. */
  readonly explanation?: unknown;
  /** Set for a task's result: resolving the item finishes the task. */
  readonly task_id?: string;
  readonly claimed_by?: string;
  readonly claimed_at?: string;
  readonly resolved_by?: string;
  readonly resolved_at?: string;
  readonly decision?: ReviewDecision;
  /** The reviewer's corrected output (decision "corrected"). */
  readonly human_output?: unknown;
}

/** A resolution as the store records it. */
export interface Resolution {
  readonly decision: ReviewDecision;
  readonly humanOutput?: unknown;
  readonly at: string;
}

export type ReviewOutcome =
  | { readonly kind: 'ok'; readonly item: ReviewItem }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'conflict'; readonly item: ReviewItem };

/** Hash always; the body kept only up to `maxBytes` (JSON parsed, anything else base64). */
export function inputRef(body: Buffer | readonly Buffer[], contentType: string, maxBytes: number): InputRef {
  const parts = Buffer.isBuffer(body) ? [body] : body;
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  const bytes = parts.reduce((sum, part) => sum + part.length, 0);
  const ref = { sha256: hash.digest('hex'), bytes, content_type: contentType };
  // Multipart forms (several parts) are kept as their hash only.
  if (!Buffer.isBuffer(body) || bytes > maxBytes) return ref;
  if (contentType === 'application/json' || contentType === '') {
    try {
      return { ...ref, body: JSON.parse(body.toString('utf8')) as unknown };
    } catch {
      // Binary-extension bodies are JSON plus bytes: kept as base64 below.
    }
  }
  return { ...ref, body_base64: body.toString('base64') };
}

export function jsonOutputs(outputs: readonly Tensor[]): JsonOutput[] {
  return outputs.map((tensor) => ({
    name: tensor.name,
    datatype: tensor.datatype,
    shape: [...tensor.shape],
    // Review records are plain JSON: an INT64 past 2^53 is kept as its nearest double there.
    data: encodeJsonData(tensor.datatype, tensor.data).map((value) => (typeof value === 'bigint' ? Number(value) : value)),
  }));
}

/** The export's line for one resolved item: what retraining needs, nothing else. */
export function exportLine(item: ReviewItem): string {
  const { id, route, input_ref, model_output, human_output, decision, resolved_by, resolved_at } = item;
  return `${JSON.stringify({ id, route, input_ref, model_output, human_output: human_output ?? null, decision, resolved_by, resolved_at })}\n`;
}
