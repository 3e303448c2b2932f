import type { DecodedResponse, OutputTensor } from './infer-codec.js';

/** An inference's outputs and the serving facts the gateway reports with it. */
export interface InferResult {
  readonly modelName: string;
  readonly modelVersion: string;
  /** The request's own `id`, echoed. */
  readonly id?: string;
  /** Outputs by name, in the order the server sent them. */
  readonly outputs: Readonly<Record<string, OutputTensor>>;
  /** The gateway's id of the request that ran (for a replay: the original request's). */
  readonly requestId: string;
  readonly route: string;
  readonly tier: string;
  readonly escalated: boolean;
  readonly queueMs: number;
  readonly computeMs: number;
  readonly serverMs: number;
  readonly batchSize: number;
  /** What the call was charged, USD. */
  readonly costUsd: number;
  /** True when the gateway answered from its idempotency record instead of running the call again. */
  readonly replayed: boolean;
  /** HTTP attempts this call made (above 1 after retries). */
  readonly attempts: number;
  readonly idempotencyKey?: string;
  /** Set when the call was filed for human review. */
  readonly review?: { readonly id: string; readonly status: string };
}

const num = (value: unknown, header: string | null): number => (typeof value === 'number' ? value : Number(value ?? header ?? Number.NaN));

export function inferResult(decoded: DecodedResponse, headers: Headers, attempts: number, idempotencyKey: string | undefined): InferResult {
  const p = decoded.parameters;
  const review = p.review as { id?: string; status?: string } | undefined;
  return {
    modelName: decoded.modelName,
    modelVersion: decoded.modelVersion,
    ...(decoded.id !== undefined ? { id: decoded.id } : {}),
    outputs: Object.fromEntries(decoded.outputs.map((output) => [output.name, output])),
    requestId: String(p.request_id ?? headers.get('x-request-id') ?? ''),
    route: String(p.route ?? headers.get('x-route') ?? decoded.modelName),
    tier: String(p.tier ?? headers.get('x-tier') ?? ''),
    escalated: (p.escalated ?? headers.get('x-escalated') === 'true') === true,
    queueMs: num(p.queue_ms, headers.get('x-queue-ms')),
    computeMs: num(p.compute_ms, headers.get('x-compute-ms')),
    serverMs: num(p.server_ms, headers.get('x-server-ms')),
    batchSize: num(p.batch_size, headers.get('x-batch-size')),
    costUsd: num(p.cost_usd, headers.get('x-cost-usd')),
    replayed: headers.get('idempotent-replayed') === 'true',
    attempts,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    ...(review?.id !== undefined ? { review: { id: review.id, status: String(review.status) } } : {}),
  };
}
