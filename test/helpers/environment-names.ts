import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Every environment variable Switchyard reads: the keys of the zod objects in
 * gateway/config.ts and workers/config.ts (the only readers of process.env).
 */
export function configEnvironmentNames(): Set<string> {
  const names = new Set<string>();
  for (const file of ['gateway/config.ts', 'workers/config.ts']) {
    for (const [, name] of readFileSync(join(ROOT, file), 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]+): (?:z\b|list|positive|timerMs|port)/gm))
      names.add(name!);
  }
  return names;
}
