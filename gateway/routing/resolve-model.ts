import { ServingError } from '../../workers/protocol/errors.js';
import { defaultVersion, servedVersions } from '../../workers/repository/model-config.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import type { ServingBackend } from '../serving-backend.js';

export interface ResolvedModel {
  readonly definition: ModelDefinition;
  /** The version asked for, or the highest served one. */
  readonly version: string;
}

/** Finds the model and version a path names (the model's default version when it names none); 404 when either is unknown. */
export function resolveModel(backend: ServingBackend, name: string, version: string | undefined): ResolvedModel {
  const definition = backend.definition(name);
  if (!definition) throw new ServingError('model_not_found', `unknown model "${name}"`);
  const served = servedVersions(definition.config);
  if (version === undefined) return { definition, version: defaultVersion(definition.config)! };
  if (!served.includes(version)) {
    throw new ServingError('version_not_found', `model "${name}" has no served version "${version}" (served: ${served.join(', ')})`);
  }
  return { definition, version };
}
