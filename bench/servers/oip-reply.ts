import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** The part of an OIP infer request these servers read. */
export interface InferBody {
  inputs?: { name?: string; shape?: number[]; data?: unknown }[];
}

/** The request's first input as numbers, or undefined when the body is not what the bench sends. */
export function firstInput(body: unknown): number[] | undefined {
  const data = (body as InferBody | null)?.inputs?.[0]?.data;
  return Array.isArray(data) && data.every((value) => typeof value === 'number') ? (data as number[]) : undefined;
}

/**
 * Answers with the same headers and body shape as the gateway (metadata included), so
 * the comparison servers spend the same effort on serialisation and the wire.
 */
export function sendLikeGateway(reply: FastifyReply, model: string, probabilities: ArrayLike<number>, computeMs: number): string {
  const metadata = {
    request_id: randomUUID(),
    model_version: '1',
    queue_ms: 0,
    compute_ms: Math.round(computeMs * 1000) / 1000,
    batch_size: 1,
    cost_usd: '0.000000425611',
  };
  reply.header('x-request-id', metadata.request_id);
  reply.header('x-model-version', metadata.model_version);
  reply.header('x-queue-ms', String(metadata.queue_ms));
  reply.header('x-compute-ms', String(metadata.compute_ms));
  reply.header('x-batch-size', String(metadata.batch_size));
  reply.header('x-cost-usd', metadata.cost_usd);
  reply.type('application/json');
  return JSON.stringify({
    model_name: model,
    model_version: '1',
    parameters: metadata,
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, probabilities.length], data: Array.from(probabilities) }],
  });
}
