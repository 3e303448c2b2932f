import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { changeLogSettings, logSettingsOf } from '../../gateway/request/log-settings.js';

describe("Triton's log switches over one pino level", () => {
  it('turns switches on and off where one level can hold them, verbose bringing info with it', () => {
    const logger = pino({ level: 'warn' });
    expect(changeLogSettings(logger, { log_verbose_level: 1 })).toMatchObject({ log_verbose_level: 1, log_info: true });
    expect(logger.level).toBe('debug');
    expect(changeLogSettings(logger, { log_verbose_level: 0, log_info: false, log_warning: false })).toMatchObject({
      log_info: false,
      log_warning: false,
      log_error: true,
    });
    expect(logger.level).toBe('error');
    expect(changeLogSettings(logger, { log_info: true })).toMatchObject({ log_info: true, log_warning: true, log_error: true });
  });

  it('refuses what one level cannot hold, changing nothing, instead of answering 200 with the switch ignored', () => {
    const logger = pino({ level: 'info' });
    for (const update of [{ log_warning: false }, { log_error: false }, { log_verbose_level: 1, log_info: false }]) {
      expect(() => changeLogSettings(logger, update)).toThrow(
        expect.objectContaining({ code: 'invalid_parameter', message: expect.stringMatching(/cannot hold/) }),
      );
      expect(logger.level).toBe('info');
    }
    expect(logSettingsOf(logger)).toMatchObject({ log_info: true, log_warning: true, log_error: true, log_verbose_level: 0 });
  });
});
