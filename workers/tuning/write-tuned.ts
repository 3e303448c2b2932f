import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, configErrorFromIssues } from '../repository/load-repository.js';
import { modelConfigSchema, type ModelConfig } from '../repository/model-config.js';

type TunedBlock = ModelConfig['tuned'][string][string];

/**
 * Records a tuned block in the model's config.json under its hardware key and version,
 * keeping everything else as written; refuses to write a config the schema would reject.
 */
export async function writeTunedBlock(modelDir: string, hardwareKey: string, version: string, block: TunedBlock): Promise<void> {
  const file = join(modelDir, CONFIG_FILE);
  const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> & { tuned?: Record<string, Record<string, unknown>> };
  const tuned = raw.tuned ?? {};
  tuned[hardwareKey] = { ...tuned[hardwareKey], [version]: block };
  const next = { ...raw, tuned };
  const checked = modelConfigSchema.safeParse(next);
  if (!checked.success) throw configErrorFromIssues(file, checked.error.issues);
  // Written beside it and renamed: a server reading the config never sees half a file.
  const temporary = `${file}.tuning`;
  await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`);
  await rename(temporary, file);
}
