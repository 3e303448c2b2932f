import { describe, expect, it } from 'vitest';
import { redactedError } from '../../workers/runtime/redact-error.js';

describe('the logged error', () => {
  it('loses the arguments of login commands, on the error and on each earlier one, and keeps the rest', () => {
    const error = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'hello', args: ['3', 'AUTH', 'default', 'pw-1'] },
      previousErrors: [] as Error[],
    });
    const earlier = Object.assign(new Error('NOAUTH'), { command: { name: 'AUTH', args: ['pw-2'] }, previousErrors: error.previousErrors });
    error.previousErrors.push(earlier);
    const other = Object.assign(new Error('WRONGTYPE'), { command: { name: 'get', args: ['some-key'] } });
    const text = JSON.stringify([redactedError(error), redactedError(other)]);
    expect(text).not.toMatch(/pw-1|pw-2/);
    expect(text).toContain('WRONGPASS invalid username-password pair');
    expect(text).toContain('"name":"hello","args":["[redacted]"]');
    expect(text).toContain('"name":"AUTH","args":["[redacted]"]');
    expect(text).toContain('"name":"get","args":["some-key"]');
  });

  it('takes the password out of URLs in its strings', () => {
    const serialized = redactedError(new Error('cannot reach redis://user:s3cret@host:6379/0 or rediss://:other@h2')) as {
      message: string;
    };
    expect(serialized.message).toBe('cannot reach redis://user:[redacted]@host:6379/0 or rediss://:[redacted]@h2');
  });
});
