import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../workers/protocol/errors.js';

const readme = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('<!-- error-table:start -->'), readme.indexOf('<!-- error-table:end -->'));

describe('the error table in docs/errors.md', () => {
  const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map(([, code, status, meaning]) => ({
    code,
    status: Number(status),
    meaning,
  }));

  it("lists every code with its status and meaning, in the table's order", () => {
    expect(rows).toEqual(Object.entries(ERROR_TABLE).map(([code, entry]) => ({ code, status: entry.status, meaning: entry.meaning })));
  });
});
