import { childSpan, endWithError, type Attributes, type Span } from './tracer.js';

/**
 * Runs one step of a traced operation (a policy stage, a budget hold, a task step) as a child
 * span of `parent`; with no recording parent it is a plain call. Sync or async alike.
 */
export function traceStep<T>(parent: Span | undefined, name: string, run: (span: Span | undefined) => T, attributes?: Attributes): T {
  if (parent === undefined) return run(undefined);
  const span = childSpan(parent, name, attributes);
  if (span === undefined) return run(undefined);
  let result: T;
  try {
    result = run(span);
  } catch (error) {
    endWithError(span, error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        endWithError(span, error);
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}
