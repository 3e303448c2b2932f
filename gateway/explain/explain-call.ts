import type { Tensor } from '../../workers/protocol/tensor.js';
import { PICO, toPico } from '../budget/budget-store.js';
import { formatUsd } from '../metadata/request-cost.js';
import type { ModelCallPayer, ModelCallServices, PlanOutcome } from '../routing/model-call.js';
import { modelInputs } from './decode-inputs.js';
import type { ExplainOptions } from './explain-options.js';
import { planExplanation, type InputPlan } from './explain-plan.js';
import { explainInputRow, type InputAttribution } from './explain-rows.js';
import { EXPLAIN_PRIORITY_OFFSET, scoreVariants, type ScoringTarget } from './score-rows.js';
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

/** A model call that answered, and what its explanation's rows go through. */
export interface ExplainCall {
  readonly outcome: PlanOutcome;
  /** The call's inputs as sent, copied before the call took its buffers. */
  readonly inputs: readonly Tensor[];
  readonly options: ExplainOptions;
  readonly requestId: string;
  readonly plan: string;
  readonly traceparent?: string;
  /** The live call's priority: the rows run behind it. */
  readonly priority: number;
  readonly timeoutMs?: number;
  readonly services: ModelCallServices;
  /** The payer's tally is what the rows cost. */
  readonly payer: ModelCallPayer & { readonly tally: { usd: number } };
  readonly cancel?: AbortSignal;
}

export interface ExplainedCall {
  readonly explanation: Explanation;
  readonly costUsd: number;
  /** For heatmaps: the inputs as the model saw them, and how each was explained. */
  readonly modelInputs: readonly Tensor[];
  readonly plans: readonly InputPlan[];
}

/**
 * Explains every row of a call that answered, against the model and version that answered
 * it: each row's target class (asked, or its top one), each input's attributions.
 */
export async function explainCall(call: ExplainCall): Promise<ExplainedCall> {
  const { outcome, options } = call;
  const config = outcome.served.model.definition.config;
  const rows = outcome.served.request.rows;
  const output = options.target ?? config.outputs[0]!.name;
  const { plans } = planExplanation(config, options, rows);
  const inputs = await modelInputs(call.inputs, config);
  const before = call.payer.tally.usd;
  const scoring: ScoringTarget = {
    model: outcome.result.model,
    version: outcome.result.version,
    config,
    output,
    requestId: call.requestId,
    plan: call.plan,
    ...(call.traceparent !== undefined ? { traceparent: call.traceparent } : {}),
    priority: call.priority + EXPLAIN_PRIORITY_OFFSET,
    ...(call.timeoutMs !== undefined ? { timeoutMs: call.timeoutMs } : {}),
    services: call.services,
    payer: call.payer,
    ...(call.cancel ? { cancel: call.cancel } : {}),
    pacer: new LivePacer(call.services.backend, outcome.result.model, outcome.result.version),
  };
  const counts = { rows: 0, calls: 0 };
  const attributions: InputAttribution[] = [];
  for (let row = 0; row < rows; row += 1) {
    const live = targetOf(outcome.result.outputs, output, config, row, options.class);
    const first = inputs[0]!;
    const score =
      live.score ??
      (
        await scoreVariants(
          scoring,
          inputs,
          first.name,
          row,
          1,
          (_, out) => out.set((first.data as Float32Array).subarray(row * out.length, (row + 1) * out.length)),
          live.class,
          counts,
        )
      )[0]!;
    for (const plan of plans)
      attributions.push(await explainInputRow(scoring, inputs, plan, row, live.class, score, (options.seed ?? 1) + row, counts));
  }
  const costUsd = toPico(call.payer.tally.usd - before) / PICO;
  return {
    explanation: { target: output, rows_used: counts.rows, model_calls: counts.calls, cost_usd: formatUsd(costUsd), attributions },
    costUsd,
    modelInputs: inputs,
    plans,
  };
}
