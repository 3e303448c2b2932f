import { describe, expect, it } from 'vitest';
import { base64Problem, decodeBase64 } from '../../gateway/protocol/base64.js';

describe('base64 as callers send bytes in JSON', () => {
  it('takes the standard and URL-safe alphabets, padded or not', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x41]);
    for (const text of [bytes.toString('base64'), bytes.toString('base64url'), '', 'AA', 'AA==', 'AAA', 'AAA=', 'aGVsbG8='])
      expect(decodeBase64(text), text).toEqual(Buffer.from(text, 'base64'));
  });

  it('refuses what Buffer.from would decode to other bytes, saying where', () => {
    expect(base64Problem('!!!')).toBe('character 0 is not in the base64 alphabet (no whitespace either)');
    expect(base64Problem('aGVs bG8=')).toMatch(/^character 4 /);
    expect(base64Problem('aGVsbG8=\n')).toMatch(/^character 8 /);
    expect(base64Problem('aGk=aGk=')).toMatch(/padding at character 3/);
    expect(base64Problem('aG=k')).toMatch(/padding at character 2/);
    expect(base64Problem('aGk===')).toMatch(/padding at character 3/);
    expect(base64Problem('aG=')).toMatch(/padding at character 2/);
    expect(base64Problem('aGVsb')).toBe('its 5 characters leave one over, which encodes no byte');
    expect(decodeBase64('!!!')).toBeUndefined();
  });
});
