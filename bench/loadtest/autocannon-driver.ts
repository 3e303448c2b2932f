import autocannon from 'autocannon';
import { breakDown, isReplayed, type ResponseHeaders } from './header-breakdown.js';
import { classifyOutcome, errorCode } from './outcomes.js';
import type { RequestSchedule } from './request-schedule.js';
import type { RunRecorder } from './run-recorder.js';
import { servedBy } from './served-by.js';

export interface PhaseLoad {
  readonly target: string;
  readonly connections: number;
  /** Requests per second over all connections; undefined: closed loop. */
  readonly rate: number | undefined;
  readonly durationS: number;
  readonly timeoutS: number;
}

/** The parts of autocannon's Client this driver reaches into (not in its types). */
interface DrainableClient {
  responseMax: number | undefined;
  reqsMade: number;
  paused: boolean;
  destroy(): void;
  on(event: 'request' | 'done', listener: () => void): void;
}

/** What the request-level onResponse saw, handed to the instance's 'response' event. */
interface ParsedAnswer {
  readonly kind: string;
  readonly status: number;
  readonly body: string;
  readonly headers: ResponseHeaders;
}

/**
 * Runs one phase with autocannon, every answer filed in `recorder`. At the deadline it drains
 * instead of cutting: each connection stops after the answer it is waiting for, so every
 * request sent is answered and the report's counts equal what the gateway counted.
 */
export async function drivePhase(load: PhaseLoad, schedule: RequestSchedule, recorder: RunRecorder): Promise<{ activeS: number }> {
  const clients: DrainableClient[] = [];
  const startedAt = performance.now();
  let lastDoneAt = startedAt;
  let answer: ParsedAnswer | undefined;
  // autocannon splits the rate evenly; a connection's sends are 1000/rate ms apart.
  const expectedIntervalMs = load.rate === undefined ? 0 : 1000 / (load.rate / load.connections);
  const url = new URL(load.target);
  let finished!: (error: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    finished = (error) => (error ? reject(error) : resolve());
  });
  const instance = autocannon(
    {
      url: url.origin,
      connections: load.connections,
      ...(load.rate === undefined ? {} : { overallRate: load.rate }),
      // Its own timer is only a backstop; the drain below ends the phase.
      duration: load.durationS + load.timeoutS + 5,
      // autocannon notices its clients are done at its next sample; 1 s by default.
      sampleInt: 50,
      timeout: load.timeoutS,
      setupClient: (client) => {
        const drainable = client as unknown as DrainableClient;
        clients.push(drainable);
        drainable.on('request', () => recorder.recordSent());
        drainable.on('done', () => {
          lastDoneAt = performance.now();
        });
      },
      requests: [
        {
          method: 'POST',
          setupRequest: (request, context) => {
            const next = schedule.next();
            (context as { kind?: string }).kind = next.kind;
            return { ...request, path: next.path, headers: { ...next.headers }, body: next.body };
          },
          // Called right before the client emits 'response' for the same answer, synchronously.
          onResponse: (status, body, context, headers) => {
            answer = { kind: (context as { kind?: string }).kind ?? 'unknown', status, body, headers: headers as ResponseHeaders };
          },
        },
      ],
    },
    (error) => finished(error ?? null),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const parsed = answer;
    answer = undefined;
    const kind = parsed?.kind ?? 'unknown';
    const headers = parsed?.headers ?? {};
    const code = statusCode >= 400 && parsed ? errorCode(parsed.body) : undefined;
    const replayed = isReplayed(headers);
    if (statusCode === 200 && parsed?.body.includes('"status":"needs_review"')) recorder.recordTaskReview(kind);
    recorder.recordResponse(kind, {
      latencyMs: responseTime,
      status: statusCode,
      outcome: classifyOutcome(statusCode, code, replayed),
      code,
      breakdown: breakDown(responseTime, headers),
      served: statusCode < 300 ? servedBy(headers) : undefined,
      expectedIntervalMs,
    });
  });
  instance.on('reqError', (error: Error) => recorder.recordTransportError('transport', error.message === 'request timed out'));

  const deadline = setTimeout(() => {
    for (const client of clients) {
      // A paused client (over its rate this second) has nothing in flight.
      if (client.paused) client.destroy();
      else client.responseMax = Math.max(1, client.reqsMade);
    }
  }, load.durationS * 1000);
  try {
    await done;
  } finally {
    clearTimeout(deadline);
  }
  // Until the last connection drained: autocannon's own end comes up to a sample later.
  return { activeS: (lastDoneAt - startedAt) / 1000 };
}
