import type { Transform } from './transform.js';

/** The built-in transforms by name; pipelines name them in their steps. */
export class TransformCatalog {
  readonly #transforms = new Map<string, Transform>();

  constructor(transforms: readonly Transform[]) {
    for (const transform of transforms) this.#transforms.set(transform.name, transform);
  }

  has(name: string): boolean {
    return this.#transforms.has(name);
  }

  get(name: string): Transform {
    const transform = this.#transforms.get(name);
    if (!transform) throw new Error(`no transform "${name}"`);
    return transform;
  }

  names(): string[] {
    return [...this.#transforms.keys()].sort();
  }
}
