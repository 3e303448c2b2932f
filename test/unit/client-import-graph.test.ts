import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** Files outside client/ it may share: pure codecs that import nothing. */
const SHARED = new Set(['workers/protocol/half-precision.ts']);

/** Every file reachable from client/index.ts by static or dynamic imports, with the bare specifiers each names. */
function importGraph(entry: string): { files: Set<string>; bare: Map<string, string> } {
  const files = new Set<string>();
  const bare = new Map<string, string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(resolve(ROOT, file), 'utf8');
    for (const match of source.matchAll(
      /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm,
    )) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (!specifier.startsWith('.')) {
        bare.set(specifier, file);
        continue;
      }
      visit(relative(ROOT, resolve(ROOT, dirname(file), specifier.replace(/\.js$/, '.ts'))));
    }
  };
  visit(entry);
  return { files, bare };
}

describe('switchyard/client import graph', () => {
  it('stays inside client/ (plus pure shared codecs) and imports only node builtins', () => {
    const { files, bare } = importGraph('client/index.ts');
    expect(files.size).toBeGreaterThan(5);
    const outside = [...files].filter((file) => !file.startsWith('client/') && !SHARED.has(file));
    expect(outside).toEqual([]);
    const packages = [...bare.keys()].filter((specifier) => !specifier.startsWith('node:') && !builtinModules.includes(specifier));
    expect(packages).toEqual([]);
    for (const shared of SHARED) {
      if (files.has(shared)) expect(readFileSync(resolve(ROOT, shared), 'utf8')).not.toMatch(/^\s*import\s/m);
    }
  });

  it('is the package export switchyard/client', () => {
    const manifest = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    expect(manifest.exports['./client']).toEqual({ types: './dist/client/index.d.ts', default: './dist/client/index.js' });
  });
});

describe('switchyard/client as a package', () => {
  it('loads by its package name from the build', async () => {
    const { execFileSync } = await import('node:child_process');
    // Self-reference through "exports", as a dependent package would import it.
    const script = "const client = await import('switchyard/client'); console.log(JSON.stringify(Object.keys(client).sort()));";
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual(
      expect.arrayContaining(['SwitchyardClient', 'SwitchyardError', 'TasksApi', 'verifyCallbackSignature']),
    );
  });
});
