import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on a module next to `from`. Under the compiled build the
 * module is .js; when running from TypeScript sources (tests, `tsx`), the thread gets
 * tsx's loader too.
 */
export function spawnThread(from: string, moduleBase: string, name: string): Worker {
  const fromSource = from.endsWith('.ts');
  const url = new URL(`./${moduleBase}${fromSource ? '.ts' : '.js'}`, from);
  return new Worker(url, {
    name,
    execArgv: fromSource ? [...process.execArgv, '--import', 'tsx'] : process.execArgv,
  });
}
