import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../settings.js';

export const RECOGNIZER = 'text-recognizer';
const SHIPPED = resolve(REPO_ROOT, 'models', RECOGNIZER);

export interface RecognizerRepositories {
  /** The shipped config's hand-written settings (its `tuned` blocks removed): the recognizer before tuning. */
  readonly untuned: string;
  /** The shipped config as it is, tuned blocks and all. */
  readonly shipped: string;
  /** The shipped config's `tuned` block for this machine, when it has one. */
  readonly shippedBlock: unknown;
}

/** Two one-model repositories holding the fp32 recognizer (version 1), before and as shipped. */
export async function recognizerRepositories(hardwareKey: string): Promise<RecognizerRepositories> {
  const config = JSON.parse(await readFile(join(SHIPPED, 'config.json'), 'utf8')) as Record<string, unknown> & {
    versions: Record<string, unknown>;
    tuned?: Record<string, Record<string, unknown>>;
  };
  // Tuned blocks keep only version 1's entries: a block for a version the copy does not serve is refused.
  const tunedFp32 = config.tuned
    ? Object.fromEntries(Object.entries(config.tuned).flatMap(([key, block]) => (block['1'] ? [[key, { '1': block['1'] }]] : [])))
    : undefined;
  const fp32 = {
    ...config,
    ...(tunedFp32 ? { tuned: tunedFp32 } : {}),
    versions: { '1': config.versions['1'] },
    version_policy: { specific: { versions: [1] } },
    default_version: '1',
  };
  const write = async (dir: string, body: unknown) => {
    await cp(SHIPPED, join(dir, RECOGNIZER), { recursive: true, filter: (source) => !source.endsWith('.onnx') });
    await writeFile(join(dir, RECOGNIZER, 'config.json'), `${JSON.stringify(body, null, 2)}\n`);
    return dir;
  };
  const { tuned, ...untuned } = fp32;
  return {
    untuned: await write(await mkdtemp(join(tmpdir(), 'recognizer-untuned-')), untuned),
    shipped: await write(await mkdtemp(join(tmpdir(), 'recognizer-shipped-')), fp32),
    shippedBlock: tuned?.[hardwareKey]?.['1'],
  };
}
