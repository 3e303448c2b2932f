import { TransformCatalog } from './catalog.js';
import { tensorFromJson } from './generic/tensor-from-json.js';
import { topK } from './generic/top-k.js';

/** Every transform a pipeline.json may name. */
export function builtInTransforms(): TransformCatalog {
  return new TransformCatalog([tensorFromJson, topK]);
}
