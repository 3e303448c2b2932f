import { ServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { PICO, toPico } from '../budget/budget-store.js';
import { traceparentOf } from '../http/trace-context.js';
import { formatUsd } from '../metadata/request-cost.js';
import type { RunStage } from '../request/infer-call.js';
import { modelCallServices } from '../wiring/policy-services.js';
import { copyInputs, modelInputs } from './decode-inputs.js';
import { explanationEstimateUsd, reserveExplanation } from './explain-budget.js';
import { parseExplainOptions, type ExplainOptions } from './explain-options.js';
import { planExplanation } from './explain-plan.js';
import { explainInputRow, type InputAttribution } from './explain-rows.js';
import { EXPLAIN_BATCH_ROWS, EXPLAIN_PRIORITY_OFFSET, scoreVariants, type ScoringTarget } from './score-rows.js';
import { renderHeatmaps } from './render-heatmap.js';
import { targetOf } from './target-score.js';
import { LivePacer } from './yield-to-live.js';

/** The `explanation` of an answer. */
export interface Explanation {
  readonly target: string;
  /** Model rows the explanation ran (the live call's not included) and the batches they went in. */
  readonly rows_used: number;
  readonly model_calls: number;
  /** What those rows cost; X-Cost-USD is this plus the live call's. */
  readonly cost_usd: string;
  readonly attributions: readonly InputAttribution[];
}

/** What the stage leaves for the front end: the explanation, and what a heatmap is drawn from. */
export interface ExplainState {
  options?: ExplainOptions;
  explanation?: Explanation;
  /** The heatmap, when the caller asked for one. */
  png?: Buffer;
  /** A small heatmap for the review item, on routes whose review keeps explanations (image inputs only). */
  reviewHeatmap?: Buffer;
}

/** The review item's heatmap is drawn small: the console scales it up. */
const REVIEW_HEATMAP_SIDE = 64;

/**
 * The explain route's stage around the model call: options checked and rows counted against
 * max_explain_rows and the budget before anything runs; then the live call (its outputs are
 * the answer and the scores explained); then the perturbed rows of the tier that answered.
 */
export function explainStage(state: ExplainState, wantsImage: (options: ExplainOptions) => boolean): RunStage {
  return async ({ call, target, planned, deps }, run) => {
    const options = parseExplainOptions(planned.parsed.explain);
    state.options = options;
    const rows = planned.plan.tiers[0]!.request.rows;
    const first = planExplanation(target.definition.config, options, rows);
    if (wantsImage(options) && !first.plans.some((plan) => plan.layout.image)) {
      throw new ServingError('explain_unsupported', `a heatmap is drawn over an image input; "${target.definition.name}" has none`);
    }
    const firstConfig = target.definition.config;
    const output = options.target ?? firstConfig.outputs[0]!.name;
    if (!firstConfig.outputs.some((spec) => spec.name === output)) throw new ServingError('unknown_output', `model "${firstConfig.name}" has no output "${output}" to explain`);
    const snapshot = copyInputs(planned.parsed.inputs);
    const batchRows = Math.max(1, Math.min(firstConfig.max_batch_size, EXPLAIN_BATCH_ROWS));
    const estimate = explanationEstimateUsd(firstConfig.price, Array.from({ length: rows }, () => first.plans.map((plan) => plan.rowsPerRow)).flat(), batchRows);
    const reservation = await reserveExplanation(target.tenant, deps.services.budgets, estimate, first.totalRows);
    try {
      const outcome = await run();
      const served = outcome.served.model.definition;
      const { plans } = planExplanation(served.config, options, rows);
      const inputs = await modelInputs(snapshot, served.config);
      const tally = { usd: 0 };
      const scoring: ScoringTarget = {
        model: outcome.result.model,
        version: outcome.result.version,
        config: served.config,
        output,
        requestId: call.requestId,
        plan: target.tenant.plan,
        ...(traceparentOf(call.trace) !== undefined ? { traceparent: traceparentOf(call.trace)! } : {}),
        priority: planned.parsed.priority + EXPLAIN_PRIORITY_OFFSET,
        ...(planned.parsed.timeoutMs !== undefined ? { timeoutMs: planned.parsed.timeoutMs } : {}),
        services: modelCallServices(deps.services, deps.backend, (error) => call.log.error({ err: error }, 'ledger write failed')),
        payer: { tenant: target.tenant.name, ...(reservation.account ? { budget: reservation.account } : {}), tally },
        ...(call.cancel ? { cancel: call.cancel } : {}),
        pacer: new LivePacer(deps.backend, outcome.result.model, outcome.result.version),
      };
      const counts = { rows: 0, calls: 0 };
      const attributions: InputAttribution[] = [];
      for (let row = 0; row < rows; row += 1) {
        const live = targetOf(outcome.result.outputs, output, served.config, row, options.class);
        const score = live.score ?? (await scoreVariants(scoring, inputs, inputs[0]!.name, row, 1, (_, out) => out.set(rowOf(inputs[0]!, row, out.length)), live.class, counts))[0]!;
        for (const plan of plans) attributions.push(await explainInputRow(scoring, inputs, plan, row, live.class, score, (options.seed ?? 1) + row, counts));
      }
      const costUsd = toPico(tally.usd) / PICO;
      state.explanation = { target: output, rows_used: counts.rows, model_calls: counts.calls, cost_usd: formatUsd(costUsd), attributions };
      if (wantsImage(options)) state.png = await renderHeatmaps(inputs, plans, attributions, served.config);
      if (target.route?.review?.explain && plans.some((plan) => plan.layout.image)) {
        state.reviewHeatmap = await renderHeatmaps(inputs, plans, attributions, served.config, REVIEW_HEATMAP_SIDE);
      }
      call.audit.costUsd = outcome.costUsd + costUsd;
      return { ...outcome, costUsd: outcome.costUsd + costUsd };
    } finally {
      await reservation.close();
    }
  };
}

function rowOf(tensor: Tensor, row: number, size: number): Float32Array {
  return (tensor.data as Float32Array).subarray(row * size, (row + 1) * size);
}
