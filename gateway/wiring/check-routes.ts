import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { servedVersions } from '../../workers/repository/model-config.js';
import { PolicyConfigError, type RouteConfig } from '../policy/policy-config.js';

/**
 * Embedded mode: the policy's routes against the model repository this process serves from,
 * so a typo stops start-up instead of answering 404 at request time or, for a cascade's
 * `output`, never escalating. Distributed mode skips this: the workers' repositories decide
 * which models exist. `loaded`: LOAD_MODELS, when set. Returns warnings (a routed model left
 * out of LOAD_MODELS can still be loaded through the repository API).
 */
export function checkRoutes(
  routes: readonly RouteConfig[],
  definitions: readonly ModelDefinition[],
  where: { file: string; repository: string; loaded?: readonly string[] },
): string[] {
  const models = new Map(definitions.map((definition) => [definition.name, definition]));
  const warnings: string[] = [];
  const fail = (path: string, message: string): never => {
    throw new PolicyConfigError(`${where.file}: ${path}: ${message}`);
  };
  routes.forEach((route, i) => {
    const shadowed = models.get(route.name);
    if (shadowed && !route.tiers.some((tier) => tier.model === route.name)) {
      fail(
        `routes[${i}].name`,
        `"${route.name}" is also a model, which the route would make unreachable by name (route to it, or rename the route)`,
      );
    }
    // A cascade judges every tier but the last; a review judges whichever tier answers.
    const cascadeOutput = route.policy.type === 'cascade' ? route.policy.output : undefined;
    const reviewOutput = route.review ? (route.review.output ?? cascadeOutput) : undefined;
    route.tiers.forEach((tier, k) => {
      const path = `routes[${i}].tiers[${k}]`;
      const definition = models.get(tier.model);
      if (!definition) {
        const hint = routes.some((other) => other.name === tier.model) ? ` ("${tier.model}" is a route: tiers name models)` : '';
        return fail(`${path}.model`, `no model "${tier.model}" in the model repository ${where.repository}${hint}`);
      }
      if (tier.version !== undefined && !servedVersions(definition.config).includes(tier.version)) {
        fail(
          `${path}.version`,
          `model "${tier.model}" serves no version ${tier.version} (it serves ${[...servedVersions(definition.config)].sort((a, b) => Number(a) - Number(b)).join(', ')})`,
        );
      }
      const outputs = definition.config.outputs.map((output) => output.name);
      const judged = [
        ...(cascadeOutput !== undefined && k < route.tiers.length - 1 ? [['policy.output', cascadeOutput]] : []),
        ...(reviewOutput !== undefined ? [[route.review!.output !== undefined ? 'review.output' : 'policy.output', reviewOutput]] : []),
      ];
      for (const [field, output] of judged) {
        if (!outputs.includes(output!)) {
          fail(
            `routes[${i}].${field}`,
            `tier "${tier.name}" (model "${tier.model}") has no output "${output}" (it has ${outputs.join(', ')})`,
          );
        }
      }
      if (where.loaded && !where.loaded.includes(tier.model)) {
        warnings.push(`${path}: model "${tier.model}" is not in LOAD_MODELS; requests to it fail until it is loaded (repository API)`);
      }
    });
  });
  return warnings;
}
