import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { assertMayCall } from '../auth/authorize.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { resolveModel } from '../routing/resolve-model.js';
import type { InferCall } from './infer-call.js';
import type { PipelineDeps } from './pipeline-deps.js';

export interface Target {
  readonly tenant: Tenant;
  readonly route?: RouteConfig;
  /** The model the body is decoded for: the called model, or a route's first tier. */
  readonly definition: ModelDefinition;
}

/**
 * Stage: may this tenant call this name, and what is it? Unknown names are a 404 before
 * the body is even decoded; the 403 does not say whether the name exists.
 */
export function resolveTarget(call: InferCall, deps: PipelineDeps): Target {
  const tenant = assertMayCall(call.tenant, call.name);
  call.audit.route = call.name;
  const route = deps.services.policy.routes.find((candidate) => candidate.name === call.name);
  const first = route?.tiers[0];
  const target = first ? resolveModel(deps.backend, first.model, first.version) : resolveModel(deps.backend, call.name, call.version);
  return { tenant, definition: target.definition, ...(route ? { route } : {}) };
}
