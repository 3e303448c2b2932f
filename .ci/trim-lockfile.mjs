// Drops optional dependencies that the lockfile names but does not contain (platform builds the
// registry does not carry), which would make `npm ci` refuse the lockfile. With --check, only
// reports them and exits 1.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const dangling = [];
for (const [name, entry] of Object.entries(lock.packages)) {
  for (const dependency of Object.keys(entry.optionalDependencies ?? {})) {
    if (!lock.packages[`node_modules/${dependency}`] && !lock.packages[`${name}/node_modules/${dependency}`]) {
      dangling.push(`${name || '(root)'} -> ${dependency}`);
      if (!process.argv.includes('--check')) delete entry.optionalDependencies[dependency];
    }
  }
}
if (process.argv.includes('--check')) {
  if (dangling.length > 0) {
    console.error(
      `package-lock.json names optional dependencies it does not contain (run node .ci/trim-lockfile.mjs):\n${dangling.join('\n')}`,
    );
    process.exit(1);
  }
} else if (dangling.length > 0) {
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`trimmed ${dangling.length}: ${dangling.join(', ')}`);
}
