import { ServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import type { RouteConfig } from '../policy/policy-config.js';

export interface TierChoiceInput {
  readonly plan: string;
  /** X-Tier, when the route allows it. */
  readonly requestedTier?: string;
  /** Uniform in [0, 1), for weighted routes. */
  readonly random: number;
}

/**
 * The order in which a route's tiers are tried: the policy's pick first, then the
 * later tiers as fallbacks (a cascade escalates along the same order).
 */
export function chooseTiers(route: RouteConfig, input: TierChoiceInput): number[] {
  const names = route.tiers.map((tier) => tier.name);
  let first = 0;
  if (input.requestedTier !== undefined && route.tier_header) {
    first = names.indexOf(input.requestedTier);
    // Not the policy's pick instead: a caller who asked for a tier would not be told it was not used.
    if (first < 0) {
      throw new ServingError(
        'invalid_parameter',
        `X-Tier names no tier of route "${route.name}": send one of ${names.join(', ')} (names match exactly), or no X-Tier for the route's policy`,
      );
    }
  } else if (route.policy.type === 'weighted') {
    const weights = names.map((name) => (route.policy.type === 'weighted' ? (route.policy.weights[name] ?? 0) : 0));
    const total = weights.reduce((a, b) => a + b, 0);
    let point = input.random * total;
    first = weights.findIndex((weight) => (point -= weight) < 0);
    if (first < 0) first = 0;
  } else if (route.policy.type === 'plan') {
    first = names.indexOf(route.policy.plans[input.plan] ?? route.policy.default);
  }
  return [first, ...names.map((_, i) => i).filter((i) => i > first)];
}

/**
 * The confidence a cascade judges by, from the declared output: per row, the top value
 * (a classifier's top probability), averaged over the row's steps when each row is a
 * sequence of distributions (a CTC recognizer's [steps, classes]); the least confident
 * row decides, so one unsure row in a batch escalates the request.
 */
export function confidence(output: Tensor, batched: boolean): number {
  const values = output.data as ArrayLike<number>;
  const classes = output.shape[output.shape.length - 1] ?? values.length;
  const rows = batched ? (output.shape[0] ?? 1) : 1;
  if (classes === 0 || rows === 0) return 0;
  const steps = values.length / rows / classes;
  let least = Number.POSITIVE_INFINITY;
  for (let row = 0; row < rows; row += 1) {
    let sum = 0;
    for (let step = 0; step < steps; step += 1) {
      const base = (row * steps + step) * classes;
      let best = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < classes; k += 1) best = Math.max(best, Number(values[base + k]));
      sum += best;
    }
    least = Math.min(least, steps > 0 ? sum / steps : 0);
  }
  return least;
}
