import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a module next to `from`. Under the compiled build the
 * module is .js; when running from TypeScript sources (the tests), the thread first
 * registers tsx's loader, since flags like --import do not reach worker threads here.
 */
export function spawnThread(from: string, moduleBase: string, name: string, options: Omit<WorkerOptions, 'name' | 'eval'> = {}): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${moduleBase}.js`, from), { ...options, name });
  const url = new URL(`./${moduleBase}.ts`, from).href;
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(bootstrap, { ...options, name, eval: true });
}
