import { ServingError, type ErrorCode } from '../protocol/errors.js';

/**
 * Whether a failed job is worth another attempt: runtime and capacity faults are;
 * bad input, and requests already past their deadline, never are.
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ServingError)) return true;
  if (error.code === 'request_timeout') return false;
  return error.status >= 500;
}

/** The code to answer a job's final failure with. */
export function failureCode(error: unknown): ErrorCode {
  return error instanceof ServingError ? error.code : 'inference_failed';
}

/** BullMQ keeps only a message for failed jobs; the code travels in front of it. */
export function encodeFailure(code: ErrorCode, message: string): string {
  return `${code}: ${message}`;
}

export function decodeFailure(reason: string): { code: ErrorCode | undefined; message: string } {
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(reason);
  return match ? { code: match[1] as ErrorCode, message: match[2]! } : { code: undefined, message: reason };
}
