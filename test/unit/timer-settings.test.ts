import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { MAX_TIMER_MS, parseWorkerConfig } from '../../workers/config.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';

/** Node fires a timer past 2^31-1 ms after 1 ms: a longer setting would end a drain at once or busy-loop a poll. */
const OVER = String(MAX_TIMER_MS + 1);
const GATEWAY_TIMERS = [
  'SHUTDOWN_GRACE_MS',
  'MODEL_CONTROL_POLL_MS',
  'TLS_RELOAD_INTERVAL_MS',
  'AUTH_FAILURE_WINDOW_MS',
  'TASK_LOCK_DURATION_MS',
  'TASK_STALLED_INTERVAL_MS',
  'CALLBACK_BACKOFF_MS',
  'CALLBACK_TIMEOUT_MS',
  'RETRY_BACKOFF_MS',
  'HEARTBEAT_MS',
];
const WORKER_TIMERS = [
  'SHUTDOWN_GRACE_MS',
  'MODEL_CONTROL_POLL_MS',
  'LOCK_DURATION_MS',
  'STALLED_INTERVAL_MS',
  'RETRY_BACKOFF_MS',
  'HEARTBEAT_MS',
];
const worker = { REDIS_URL: 'redis://127.0.0.1:6379' };

describe('timer settings', () => {
  it.each(GATEWAY_TIMERS)('the gateway refuses %s over 2^31-1 ms, naming it, and takes 2^31-1', (name) => {
    expect(() => parseConfig({ [name]: OVER })).toThrow(new RegExp(`invalid environment: ${name}: at most ${MAX_TIMER_MS}`));
    // CALLBACK_BACKOFF_MS doubles over its attempts: at the limit it is one attempt (no wait to double).
    expect(parseConfig({ [name]: String(MAX_TIMER_MS), CALLBACK_ATTEMPTS: '2' })[name as 'PORT']).toBe(MAX_TIMER_MS);
  });

  it.each(WORKER_TIMERS)('the worker refuses %s over 2^31-1 ms, naming it', (name) => {
    expect(() => parseWorkerConfig({ ...worker, [name]: OVER })).toThrow(
      new RegExp(`invalid environment: ${name}: at most ${MAX_TIMER_MS}`),
    );
    expect(parseWorkerConfig({ ...worker, [name]: String(MAX_TIMER_MS) })[name as 'HEARTBEAT_MS']).toBe(MAX_TIMER_MS);
  });

  it('refuses a callback backoff whose last doubled wait is past the limit', () => {
    expect(() => parseConfig({ CALLBACK_BACKOFF_MS: '100000000', CALLBACK_ATTEMPTS: '7' })).toThrow(
      /CALLBACK_BACKOFF_MS: 100000000 doubled over CALLBACK_ATTEMPTS 7 waits 3200000000 ms/,
    );
    expect(parseConfig({ CALLBACK_BACKOFF_MS: '100000000', CALLBACK_ATTEMPTS: '5' }).CALLBACK_BACKOFF_MS).toBe(100_000_000);
  });

  it("refuses a model's default_timeout_ms past the limit", () => {
    const config = {
      name: 'm',
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 8,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
      price: { usd_per_compute_second: 0 },
    };
    expect(modelConfigSchema.safeParse({ ...config, dynamic_batching: { default_timeout_ms: MAX_TIMER_MS + 1 } }).success).toBe(false);
    expect(modelConfigSchema.safeParse({ ...config, dynamic_batching: { default_timeout_ms: MAX_TIMER_MS } }).success).toBe(true);
  });
});
