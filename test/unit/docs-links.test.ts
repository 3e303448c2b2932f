import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The README is the entry point and the manual lives in docs/: every relative link between them
 * (and bench/README.md) names a file that exists and, for a markdown target, one of its headings.
 */
const ROOT = new URL('../..', import.meta.url).pathname;
const FILES = [
  'README.md',
  'bench/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

/** Markdown outside fenced code blocks. */
function prose(text: string): string {
  return text
    .split(/^```.*$/m)
    .filter((_, index) => index % 2 === 0)
    .join('\n');
}

function headings(file: string): Set<string> {
  const text = prose(readFileSync(join(ROOT, file), 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) => slug(heading!.trim())));
}

describe('documentation links', () => {
  it('finds the docs it checks', () => {
    expect(FILES).toEqual(expect.arrayContaining(['docs/api.md', 'docs/errors.md', 'docs/policy.md', 'docs/runbooks.md']));
  });

  for (const file of FILES) {
    it(`${file}: every relative link resolves to a file and heading`, () => {
      const broken: string[] = [];
      for (const [, target] of prose(readFileSync(join(ROOT, file), 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = path ? normalize(join(dirname(file), path)) : file;
        if (!existsSync(join(ROOT, resolved))) broken.push(`${target} (no file ${resolved})`);
        else if (anchor && resolved.endsWith('.md') && !headings(resolved).has(anchor)) broken.push(`${target} (no heading)`);
      }
      expect(broken).toEqual([]);
    });
  }
});
