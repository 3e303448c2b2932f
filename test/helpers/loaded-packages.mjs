// Preloaded with `--import` into a process under test: on SIGUSR2 it writes the npm packages the
// process has loaded through CommonJS (every runtime dependency here ships a CommonJS build) as one
// stderr line, `loaded-packages ["name", ...]`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
process.on('SIGUSR2', () => {
  const packages = new Set();
  for (const path of Object.keys(require.cache)) {
    const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    if (match) packages.add(match[1]);
  }
  process.stderr.write(`loaded-packages ${JSON.stringify([...packages].sort())}\n`);
});
