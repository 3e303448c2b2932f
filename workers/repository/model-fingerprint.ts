import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, readModelDefinition } from './load-repository.js';
import { servedVersions } from './model-config.js';
import { resolveWeights } from './resolve-weights.js';

/**
 * A cheap token for one model folder: mtime and size of its config.json and of each served
 * version's weights. Any change to them changes it; undefined when the folder has no config.json.
 */
export async function modelFingerprint(repository: string, name: string): Promise<string | undefined> {
  const configFile = join(repository, name, CONFIG_FILE);
  const configStat = await stat(configFile).catch(() => undefined);
  if (!configStat?.isFile()) return undefined;
  const parts = [`config:${configStat.mtimeMs}:${configStat.size}`];
  const definition = await readModelDefinition(repository, name).catch(() => undefined);
  if (!definition) return `${parts[0]}|invalid`;
  for (const output of definition.config.outputs) {
    if (output.label_filename === undefined) continue;
    const labels = await stat(join(repository, name, output.label_filename)).catch(() => undefined);
    parts.push(labels ? `labels:${output.label_filename}:${labels.mtimeMs}:${labels.size}` : `labels:${output.label_filename}:missing`);
  }
  for (const version of servedVersions(definition.config)) {
    let weights: string;
    try {
      weights = resolveWeights(definition, version);
    } catch {
      parts.push(`${version}:missing`);
      continue;
    }
    const file = await stat(weights).catch(() => undefined);
    parts.push(file ? `${version}:${file.mtimeMs}:${file.size}` : `${version}:missing`);
  }
  return parts.join('|');
}

/** Fingerprints of every model folder (one with a config.json) in the repository. */
export async function repositoryFingerprints(repository: string): Promise<Map<string, string>> {
  const entries = await readdir(repository, { withFileTypes: true });
  const fingerprints = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const fingerprint = await modelFingerprint(repository, entry.name);
    if (fingerprint !== undefined) fingerprints.set(entry.name, fingerprint);
  }
  return fingerprints;
}
