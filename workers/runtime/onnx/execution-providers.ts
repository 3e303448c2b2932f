import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The providers worth trying, in config order. CUDA is dropped up front when its
 * provider library is not installed beside the binding (CPU images skip that
 * download), so CPU machines do not log a load failure for every instance.
 */
export function availableProviders(requested: readonly string[]): { providers: string[]; skipped: string[] } {
  const providers: string[] = [];
  const skipped: string[] = [];
  for (const name of requested) {
    if (name === 'cuda' && !cudaProviderInstalled()) skipped.push('cuda (libonnxruntime_providers_cuda.so is not installed)');
    else providers.push(name);
  }
  return { providers, skipped };
}

let cudaInstalled: boolean | undefined;

function cudaProviderInstalled(): boolean {
  if (cudaInstalled === undefined) {
    const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const binDir = join(dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
    cudaInstalled = existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'));
  }
  return cudaInstalled;
}
