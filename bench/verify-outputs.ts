import { Agent } from 'node:http';
import { post } from './http-post.js';
import type { RequestBody } from './request-bodies.js';

export interface OutputCheck {
  readonly requests: number;
  readonly concurrency: number;
  readonly mismatches: number;
  readonly maxAbsError: number;
  /** First few problems, for the report. */
  readonly problems: string[];
}

/** Batch-size-dependent kernels round differently; a row mix-up is off by far more. */
const TOLERANCE = 1e-4;

/**
 * Sends every body many times at once, so the server batches them, and compares each
 * answer with in-process inference on that body: catches rows returned to the wrong request.
 */
export async function verifyOutputs(
  baseUrl: string,
  path: string,
  bodies: readonly RequestBody[],
  expected: readonly Float32Array[],
  concurrency: number,
  rounds = 4,
): Promise<OutputCheck> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(path, baseUrl);
  const problems: string[] = [];
  let mismatches = 0;
  let maxAbsError = 0;
  const total = bodies.length * rounds;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next % bodies.length;
      next += 1;
      const reply = await post(agent, url, bodies[index]!.json);
      const problem = compare(reply.status, reply.body, expected[index]!);
      if (typeof problem === 'string') {
        mismatches += 1;
        if (problems.length < 5) problems.push(`body ${index}: ${problem}`);
      } else {
        maxAbsError = Math.max(maxAbsError, problem);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { requests: total, concurrency, mismatches, maxAbsError, problems };
}

/** The largest absolute difference, or why the reply is wrong. */
function compare(status: number, body: Buffer, expected: Float32Array): number | string {
  if (status !== 200) return `status ${status}: ${body.toString('utf8').slice(0, 200)}`;
  const parsed = JSON.parse(body.toString('utf8')) as { outputs?: { name?: string; shape?: number[]; data?: number[] }[] };
  const output = parsed.outputs?.find((candidate) => candidate.name === 'probabilities');
  const data = output?.data;
  if (!data || data.length !== expected.length) return `no probabilities output of ${expected.length} values`;
  let worst = 0;
  for (let i = 0; i < data.length; i += 1) worst = Math.max(worst, Math.abs(data[i]! - expected[i]!));
  return worst > TOLERANCE ? `off by ${worst.toExponential(2)} (a row from another request?)` : worst;
}
