import type { InferResult } from '../../workers/protocol/inference.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import type { AuditDetails } from '../audit/audit-hook.js';
import type { TraceContext } from '../http/trace-context.js';
import type { ResponseMetadata } from '../metadata/response-metadata.js';
import type { Tenant } from '../policy/policy-config.js';
import type { ParsedInferRequest } from '../protocol/parse-infer-request.js';
import type { EncodedAnswer } from '../protocol/binary-body.js';
import type { ReadBody } from '../protocol/read-infer-body.js';
import type { ReviewInput, ReviewMark } from '../review/review-on-infer.js';
import type { PlanOutcome } from '../routing/model-call.js';
import type { AnswerTemplate } from './answer-template.js';
import type { RawBody } from '../protocol/read-infer-body.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { PlannedCall } from './plan-call.js';
import type { Target } from './resolve-target.js';

/** The policy-relevant headers (HTTP) or metadata (gRPC), as the caller sent them. */
export interface CallHeaders {
  readonly idempotencyKey?: string | string[];
  readonly tier?: string | string[];
  readonly review?: string | string[];
}

export interface CallLog {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** One inference call, whatever transport it came by: what the stages read and note. */
export interface InferCall {
  /** The gateway's own id; the caller's (X-Request-Id header or metadata), when usable, is clientRequestId. */
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
  /** performance.now() when the call arrived: the start of X-Server-Ms. */
  readonly arrivedAt: number;
  /** Set by the front end's authentication (the same Authenticator for both). */
  readonly tenant: Tenant | undefined;
  readonly trace: TraceContext;
  /** A model or a route name, and a version for a model. */
  readonly name: string;
  readonly version?: string;
  readonly headers: CallHeaders;
  readonly log: CallLog;
  /** Filled in as the stages learn things: the audit record, the log line and the metrics read it. */
  readonly audit: AuditDetails;
  /**
   * Aborted when the caller goes away (closed connection, gRPC cancel or deadline): the
   * stages stop, and the model call it reaches leaves its queue (see routing/model-call.ts).
   */
  readonly cancel?: AbortSignal;
}

/** What a served inference hands back to its front end to encode. */
export interface InferAnswer {
  readonly parsed: ParsedInferRequest;
  readonly result: InferResult;
  readonly metadata: ResponseMetadata;
  readonly review?: ReviewMark;
}

/** An answer as its transport sends it: headers (or initial metadata) and the body's bytes. */

/** The transport's half of a call: decoding the request and encoding the answer. */
export interface InferFrontEnd {
  readBody(definition: ModelDefinition): Promise<ReadBody>;
  /** The request as a review item keeps it. */
  reviewInput(): ReviewInput;
  encode(answer: InferAnswer): EncodedAnswer;
  /**
   * For the response cache's lookup by body (request/raw-answer.ts), where the transport has
   * one: the body as it came, and an answer encoded as `encode` would, its metadata filled in later.
   */
  readonly raw?: {
    body(): RawBody | undefined;
    template(parsed: ParsedInferRequest, result: InferResult): AnswerTemplate | undefined;
  };
}

/** Served now, or the stored answer of an earlier call with the same Idempotency-Key. */
export type InferOutcome =
  | { readonly replayed: false; readonly answer: EncodedAnswer }
  | { readonly replayed: true; readonly answer: EncodedAnswer };

/** What a stage around the model call sees. */
export interface StageContext {
  readonly call: InferCall;
  readonly target: Target;
  readonly planned: PlannedCall;
  readonly deps: PipelineDeps;
}

/**
 * Work around the one model call (an explanation's perturbed rows): it may refuse before
 * `run` (checked after the plan, before anything runs), and adds what it spent to the outcome.
 */
export type RunStage = (context: StageContext, run: () => Promise<PlanOutcome>) => Promise<PlanOutcome>;

export type { EncodedAnswer };

/**
 * For a plain inference on a route whose review keeps explanations (`review: {explain: true}`;
 * explain/review-explain.ts makes it): `stage` runs around the model call, `explainLater`
 * explains the answer filed as review item `id` once the answer is sent.
 */
export interface ReviewExplainer {
  readonly stage: RunStage;
  explainLater(id: string): void;
}
