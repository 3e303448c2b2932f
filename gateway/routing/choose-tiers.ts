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
    first = Math.max(0, names.indexOf(input.requestedTier));
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

/** The confidence a cascade judges by: the largest value of the declared output. */
export function confidence(values: ArrayLike<number>): number {
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i += 1) best = Math.max(best, Number(values[i]));
  return best;
}
