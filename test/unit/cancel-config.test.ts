import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';

describe('CANCEL_ABANDONED', () => {
  it('is on unless set off; anything else is refused at start', () => {
    expect(parseConfig({}).CANCEL_ABANDONED).toBe('on');
    expect(parseConfig({ CANCEL_ABANDONED: 'off' }).CANCEL_ABANDONED).toBe('off');
    expect(() => parseConfig({ CANCEL_ABANDONED: 'false' })).toThrow(/CANCEL_ABANDONED/);
  });
});
