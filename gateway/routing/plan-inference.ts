import { ServingError } from '../../workers/protocol/errors.js';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';
import type { RouteConfig } from '../policy/policy-config.js';
import type { ParsedInferRequest } from '../protocol/parse-infer-request.js';
import type { ServingBackend } from '../serving-backend.js';
import { chooseTiers } from './choose-tiers.js';
import { resolveModel, type ResolvedModel } from './resolve-model.js';
import { validateRequest } from './validate-request.js';

export interface PlannedTier {
  readonly tier: string;
  readonly model: ResolvedModel;
  readonly request: ValidInferRequest;
}

/** What one inference will try, in order, and under which route. */
export interface InferencePlan {
  /** The route name, or the model name when called directly. */
  readonly route: string;
  readonly routeConfig?: RouteConfig;
  readonly tiers: readonly PlannedTier[];
  /** The candidate a percentage of requests is mirrored to. */
  readonly shadow?: PlannedTier;
}

export interface PlanContext {
  readonly backend: ServingBackend;
  readonly routes: readonly RouteConfig[];
  readonly requestId: string;
  readonly now: number;
  readonly traceparent?: string;
  readonly plan: string;
  readonly requestedTier?: string;
  readonly random: () => number;
}

/**
 * A model name runs that model; a route name runs its tiers in the order its policy
 * picks. The request is validated against every tier up front, so a bad request is a
 * 400 before anything runs.
 */
export function planInference(name: string, version: string | undefined, parsed: ParsedInferRequest, context: PlanContext): InferencePlan {
  const route = context.routes.find((candidate) => candidate.name === name);
  // Each request gets inputs of its own: runtimes take ownership of (transfer) the buffers
  // they are given, and a cascade or a shadow sends the same inputs to several models.
  let uses = 0;
  const validate = (tier: string, model: ResolvedModel): PlannedTier => {
    const own = uses++ === 0 ? parsed : { ...parsed, inputs: parsed.inputs.map((tensor) => ({ ...tensor, data: tensor.data.slice() })) };
    const request = validateRequest(own, model, {
      requestId: context.requestId,
      now: context.now,
      ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
    });
    return { tier, model, request };
  };
  if (!route) {
    const model = resolveModel(context.backend, name, version);
    return { route: name, tiers: [validate('direct', model)] };
  }
  if (version !== undefined) throw new ServingError('version_not_found', `"${name}" is a route: its tiers choose the versions`);
  const order = chooseTiers(route, {
    plan: context.plan,
    random: context.random(),
    ...(context.requestedTier !== undefined ? { requestedTier: context.requestedTier } : {}),
  });
  const tiers = order.map((index) => {
    const tier = route.tiers[index]!;
    return validate(tier.name, resolveModel(context.backend, tier.model, tier.version));
  });
  const shadowTier = route.shadow ? route.tiers.find((tier) => tier.name === route.shadow!.tier) : undefined;
  const shadow = shadowTier ? validate(shadowTier.name, resolveModel(context.backend, shadowTier.model, shadowTier.version)) : undefined;
  return { route: name, routeConfig: route, tiers, ...(shadow ? { shadow } : {}) };
}

type Price = ResolvedModel['definition']['config']['price'];

/** One request's cost at the model's reserve compute time: what a budget holds before the actual cost is known. */
function reserveUsd(price: Price, rows: number): number {
  return price.usd_per_request + (price.usd_per_compute_second * price.reserve_compute_ms * rows) / 1000;
}

/** Budget to reserve: every tier for a cascade (it may run them all), else the dearest it may fall back to. */
export function estimateCostUsd(plan: InferencePlan): number {
  const costs = plan.tiers.map(({ model, request }) => reserveUsd(model.definition.config.price, request.rows));
  return plan.routeConfig?.policy.type === 'cascade' ? costs.reduce((a, b) => a + b, 0) : Math.max(...costs);
}

/** The same before any request exists (a task's estimate at submission): one row per request, by model or route name; 0 for a name unknown. */
export function estimateCallUsd(backend: ServingBackend, routes: readonly RouteConfig[], name: string, version?: string): number {
  const route = version === undefined ? routes.find((candidate) => candidate.name === name) : undefined;
  const price = (model: string): number => {
    const config = backend.definition(model)?.config;
    return config ? reserveUsd(config.price, 1) : 0;
  };
  if (!route) return price(name);
  const costs = route.tiers.map((tier) => price(tier.model));
  return route.policy.type === 'cascade' ? costs.reduce((a, b) => a + b, 0) : Math.max(0, ...costs);
}
