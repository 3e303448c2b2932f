import { describe, expect, it } from 'vitest';
import { liveCallStarted } from '../../gateway/request/live-calls.js';
import { LIVE_DUTY, LivePacer } from '../../gateway/explain/yield-to-live.js';
import type { ServingBackend } from '../../gateway/serving-backend.js';

/** The two counters the pacer reads: the version's served rows (absent where the gateway has none) and its queue. */
function counters(): { backend: ServingBackend; served: number | undefined; waiting: number } {
  const state = {
    served: 0 as number | undefined,
    waiting: 0,
    backend: {
      statistics: () => (state.served === undefined ? [] : [{ inference_count: state.served }]),
      backlog: () => [{ model: 'm', version: '1', waiting: state.waiting }],
    } as unknown as ServingBackend,
  };
  return state;
}

/** One batch of `rows` that took `tookMs`, while `others` rows of other requests were served. */
async function batch(pacer: LivePacer, state: ReturnType<typeof counters>, rows: number, tookMs: number, others = 0): Promise<number> {
  await pacer.beforeBatch();
  if (state.served !== undefined) state.served += rows + others;
  return pacer.afterBatch(tookMs, rows);
}

describe('an explanation paces its batches by the live traffic on its model', () => {
  it('alone on the model it runs flat out; beside other requests it rests, busy at most LIVE_DUTY of the time', async () => {
    const state = counters();
    const pacer = new LivePacer(state.backend, 'm', '1');
    expect(await batch(pacer, state, 4, 1)).toBe(0);
    expect(await batch(pacer, state, 8, 1)).toBe(0);
    const rest = await batch(pacer, state, 8, 1, 1);
    expect(rest).toBeGreaterThanOrEqual((1 * (1 - LIVE_DUTY)) / LIVE_DUTY);
    // Its own work between batches counts as busy too.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await batch(pacer, state, 8, 1)).toBeGreaterThanOrEqual((20 * (1 - LIVE_DUTY)) / LIVE_DUTY);
  });

  it('statistics that lag behind its own rows (distributed mode) are not taken for live traffic; where there are none, it always rests', async () => {
    const state = counters();
    const pacer = new LivePacer(state.backend, 'lagging', '1');
    await pacer.beforeBatch();
    // Its first two batches are not counted yet.
    expect(await pacer.afterBatch(1, 8)).toBe(0);
    await pacer.beforeBatch();
    expect(await pacer.afterBatch(1, 8)).toBe(0);
    // Then they are, at once: still only its own rows.
    state.served = 16;
    expect(await batch(pacer, state, 8, 1)).toBe(0);
    expect(await batch(pacer, state, 8, 1, 3)).toBeGreaterThan(0);

    const blind = counters();
    blind.served = undefined;
    const resting = new LivePacer(blind.backend, 'blind', '1');
    expect(await batch(resting, blind, 8, 1)).toBeGreaterThan(0);
  });

  it('sends a batch only when no live call on the model is in progress, or after 250 ms; a live call met is live traffic at once, for the next explanation too', async () => {
    const state = counters();
    const pacer = new LivePacer(state.backend, 'deferring', '1');
    const done = liveCallStarted('deferring');
    const other = liveCallStarted('other-model');
    const began = performance.now();
    setTimeout(done, 40);
    await pacer.beforeBatch();
    expect(performance.now() - began).toBeGreaterThanOrEqual(35);
    // Never starved: a model always busy with live calls still gets a batch every 250 ms.
    const stuck = liveCallStarted('deferring');
    const waited = performance.now();
    await pacer.beforeBatch();
    expect(performance.now() - waited).toBeGreaterThanOrEqual(245);
    stuck();
    other();
    // The served counts have not moved past its own rows, yet it rests, and so does a new explanation.
    state.served = 8;
    expect(await pacer.afterBatch(1, 8)).toBeGreaterThan(0);
    const next = new LivePacer(state.backend, 'deferring', '1');
    expect(await batch(next, state, 8, 1)).toBeGreaterThan(0);
  });

  it('grows its batches while they run short, and halves them when they run long', async () => {
    const state = counters();
    const pacer = new LivePacer(state.backend, 'growing', '1');
    expect(pacer.rows(16)).toBe(1);
    await batch(pacer, state, 1, 0.5);
    await batch(pacer, state, 2, 0.5);
    expect(pacer.rows(16)).toBe(4);
    await batch(pacer, state, 4, 50);
    expect(pacer.rows(16)).toBe(2);
  });
});
