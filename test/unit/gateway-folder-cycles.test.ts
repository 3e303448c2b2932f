import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const GATEWAY = resolve(import.meta.dirname, '../../gateway');

/** The node a gateway file belongs to: its top folder under gateway/, or the file itself when it sits at the top. */
function nodeOf(file: string): string {
  const parts = relative(GATEWAY, file).split(sep);
  return parts.length > 1 ? `${parts[0]}/` : parts[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of every import and re-export, type-only ones included (they tie folders together just the same). */
function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((match) => match[1]!);
}

/** Folder graph of gateway/: an edge A -> B for each import from a file in A of a file in B. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(GATEWAY)) {
    const from = nodeOf(file);
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(GATEWAY + sep)) continue;
      const to = nodeOf(target);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${relative(GATEWAY, file)} imports ${specifier}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Every elementary cycle found by depth-first search, each reported once, with the import behind each edge. */
function findCycles(graph: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const cycles = new Map<string, string[]>();
  const visit = (node: string, path: string[]): void => {
    for (const [next, _why] of graph.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = [...path.slice(at), next];
        const key = [...loop.slice(0, -1)].sort().join(' ');
        if (!cycles.has(key))
          cycles.set(
            key,
            loop.map((step, i) => (i < loop.length - 1 ? `${step} (${graph.get(step)!.get(loop[i + 1]!)})` : step)),
          );
      } else if (path.length < 12) {
        visit(next, [...path, next]);
      }
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return [...cycles.values()];
}

describe('gateway folders form no import cycles', () => {
  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a/', new Map([['b/', 'a/x.ts imports ../b/y.js']])],
      ['b/', new Map([['c/', 'b/y.ts imports ../c/z.js']])],
      ['c/', new Map([['a/', 'c/z.ts imports ../a/x.js']])],
      ['d/', new Map([['a/', 'd/w.ts imports ../a/x.js']])],
    ]);
    expect(findCycles(graph).map((cycle) => cycle.map((step) => step.split(' ')[0]))).toEqual([['a/', 'b/', 'c/', 'a/']]);
    const source = "import type { A } from '../a/x.js';\nexport { B } from './b.js';\nconst c = await import('../c/z.js');";
    expect(importsOf(source)).toEqual(['../a/x.js', './b.js', '../c/z.js']);
  });

  it('the gateway source has none', () => {
    const graph = folderGraph();
    expect(graph.size).toBeGreaterThan(10);
    expect(findCycles(graph)).toEqual([]);
  });
});
