import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { modelConfigSchema, type ModelConfig } from './model-config.js';

export const CONFIG_FILE = 'config.json';

export interface ModelDefinition {
  readonly name: string;
  /** Folder holding config.json and the version folders. */
  readonly dir: string;
  readonly config: ModelConfig;
  /** Per output with a label_filename: its labels, by class index. */
  readonly labels?: Readonly<Record<string, readonly string[]>>;
}

/** A label file larger than this is refused (it is read into every gateway and worker). */
const MAX_LABEL_FILE_BYTES = 4 * 1024 * 1024;

async function readLabels(dir: string, file: string, config: ModelConfig): Promise<ModelDefinition['labels']> {
  const labels: Record<string, readonly string[]> = {};
  for (const [index, output] of config.outputs.entries()) {
    if (output.label_filename === undefined) continue;
    const path = join(dir, output.label_filename);
    const problem = (text: string) => new ModelConfigError(file, `outputs[${index}].label_filename`, `${output.label_filename} ${text}`);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw problem('is not a file in the model folder');
    if (info.size > MAX_LABEL_FILE_BYTES) throw problem(`is larger than ${MAX_LABEL_FILE_BYTES} bytes`);
    const lines = (await readFile(path, 'utf8')).split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    labels[output.name] = lines;
  }
  return Object.keys(labels).length > 0 ? labels : undefined;
}

/** A config that does not validate; the message names the file and the field. */
export class ModelConfigError extends Error {
  constructor(file: string, field: string, problem: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'ModelConfigError';
  }
}

/** The first schema issue as an error naming the file and the field (`steps[2].inputs`). */
export function configErrorFromIssues(
  file: string,
  issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[],
): ModelConfigError {
  const first = issues[0];
  const field = first
    ? first.path
        .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
        .join('')
        .replace(/^\./, '')
    : '';
  return new ModelConfigError(file, field, first?.message ?? 'invalid');
}

/** Reads and validates one model's config.json. */
export async function readModelDefinition(repository: string, name: string): Promise<ModelDefinition> {
  const dir = join(repository, name);
  const file = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ModelConfigError(file, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    // The position only: the parser's message quotes the file's text.
    const position = /position \d+/.exec((error as Error).message)?.[0];
    throw new ModelConfigError(file, '', `is not valid JSON${position ? ` (at ${position})` : ''}`);
  }
  const parsed = modelConfigSchema.safeParse(raw);
  if (!parsed.success) throw configErrorFromIssues(file, parsed.error.issues);
  if (parsed.data.name !== name) {
    throw new ModelConfigError(file, 'name', `"${parsed.data.name}" must match its folder name "${name}"`);
  }
  const labels = await readLabels(dir, file, parsed.data);
  return { name, dir, config: parsed.data, ...(labels ? { labels } : {}) };
}

/** Every model folder (one with a config.json) in the repository, validated. */
export async function loadRepository(repository: string): Promise<ModelDefinition[]> {
  const entries = await readdir(repository, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new ModelConfigError(repository, '', `model repository cannot be read (${error.code ?? String(error)})`);
  });
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const files = await readdir(join(repository, entry.name));
    if (files.includes(CONFIG_FILE)) names.push(entry.name);
  }
  names.sort();
  return Promise.all(names.map((name) => readModelDefinition(repository, name)));
}
