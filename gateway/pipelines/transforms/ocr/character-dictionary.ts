import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface DictionarySource {
  readonly package: string;
  readonly path: string;
}

const loaded = new Map<string, readonly string[]>();

/**
 * The recognizer's classes as text, read once from an installed npm package: the
 * CTC blank first, then one character per line of the file, then a space (PaddleOCR's
 * use_space_char), so class k is characters[k].
 */
export function characterDictionary(source: DictionarySource): readonly string[] {
  const key = `${source.package}/${source.path}`;
  let characters = loaded.get(key);
  if (!characters) {
    const lines = readFileSync(findInPackage(source), 'utf8').replace(/\r/g, '').split('\n');
    if (lines.at(-1) === '') lines.pop();
    characters = ['', ...lines, ' '];
    loaded.set(key, characters);
  }
  return characters;
}

/** Like the weights' resolution: the package's `exports` map is bypassed, since it rarely lists data files. */
function findInPackage(source: DictionarySource): string {
  for (const nodeModules of createRequire(import.meta.filename).resolve.paths(source.package) ?? []) {
    const path = join(nodeModules, source.package, source.path);
    if (existsSync(path)) return path;
  }
  throw new Error(`${source.path} not found in npm package ${source.package}: is it installed?`);
}
