/**
 * Writes every weights file the repository declares as `"source": "build"` and that is
 * missing. Runs before `npm start` and `npm test`; builders are deterministic.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { DEMO_MLP, buildMlp } from './mlp.js';

const BUILDERS: Record<string, () => Uint8Array> = {
  'mlp-512-1024-1024-10': () => buildMlp(DEMO_MLP),
};

export async function buildMissingModels(repository: string, log: (line: string) => void): Promise<number> {
  let built = 0;
  for (const model of await loadRepository(repository)) {
    for (const [version, { weights }] of Object.entries(model.config.versions)) {
      if (weights.source !== 'build') continue;
      const target = join(model.dir, version, weights.path);
      if (existsSync(target)) continue;
      const builder = BUILDERS[weights.builder];
      if (!builder) throw new Error(`${model.name}: unknown builder "${weights.builder}" (known: ${Object.keys(BUILDERS).join(', ')})`);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, builder());
      log(`built ${target}`);
      built += 1;
    }
  }
  return built;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const repository = process.argv[2] ?? 'models';
  buildMissingModels(repository, (line) => console.log(line)).catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
