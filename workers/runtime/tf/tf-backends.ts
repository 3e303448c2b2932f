import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** The tfjs backends, fastest first: native libtensorflow with CUDA, native on CPU, then WASM. */
export type TfBackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm';

/** The part of tfjs-node's `tf.node` namespace the runtime uses (tfjs-node is optional, so it is typed here). */
export interface TfNodeApi {
  loadSavedModel(path: string, tags?: string[], signature?: string): Promise<TfSavedModel>;
}

export interface TfSavedModel {
  predict(inputs: tf.NamedTensorMap): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
  dispose(): void;
}

export interface TfBackend {
  readonly name: TfBackendName;
  /** Present on the native backends only. */
  readonly node: TfNodeApi | undefined;
  /** Backends tried before this one, with why each was passed over. */
  readonly skipped: readonly string[];
}

/**
 * Picks the first backend that loads in this thread. `providers` is the model's
 * execution-provider list: 'cuda' allows tfjs-node-gpu, 'cpu' allows tfjs-node and WASM.
 * The native packages are optional dependencies whose install downloads libtensorflow;
 * where that failed they are absent or their binding does not load, and we fall through.
 */
export async function selectBackend(providers: readonly string[], threads: number): Promise<TfBackend> {
  const skipped: string[] = [];
  const candidates: ('tfjs-node-gpu' | 'tfjs-node')[] = [];
  if (providers.includes('cuda')) candidates.push('tfjs-node-gpu');
  if (providers.includes('cpu')) candidates.push('tfjs-node');
  for (const name of candidates) {
    try {
      // A variable specifier: the packages may be missing, so TypeScript must not resolve them.
      const specifier: string = `@tensorflow/${name}`;
      const module = (await import(specifier)) as { node?: TfNodeApi };
      await tf.setBackend('tensorflow');
      return { name, node: module.node, skipped };
    } catch (error) {
      skipped.push(`${name} (${firstLine(error)})`);
    }
  }
  if (!providers.includes('cpu')) throw new Error(`no TF backend loaded: ${skipped.join('; ')}`);
  // The .wasm files ship inside the package: point tfjs at them so nothing is fetched.
  const packageJson = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  setWasmPaths(`${join(dirname(packageJson), 'dist')}/`);
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error(`no TF backend loaded: ${[...skipped, 'wasm (did not initialise)'].join('; ')}`);
  return { name: 'wasm', node: undefined, skipped };
}

function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!;
}
