import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { parseWorkerConfig } from '../../workers/config.js';

describe('port settings', () => {
  it.each(['0x1F9C', '1e3', ' 18300 ', '+80', '8080.0', '65536', '-1', ''])('refuse %j for PORT and GRPC_PORT, naming them', (value) => {
    if (value === '') {
      // Empty counts as unset: the default.
      expect(parseConfig({ PORT: value }).PORT).toBe(8080);
      return;
    }
    expect(() => parseConfig({ PORT: value })).toThrow(/invalid environment: PORT: /);
    expect(() => parseConfig({ GRPC_PORT: value })).toThrow(/invalid environment: GRPC_PORT: /);
    expect(() => parseWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379', METRICS_PORT: value })).toThrow(
      /invalid environment: METRICS_PORT: /,
    );
  });

  it('take decimal ports, 0 included', () => {
    expect(parseConfig({ PORT: '18300', GRPC_PORT: '0' })).toMatchObject({ PORT: 18300, GRPC_PORT: 0 });
    expect(parseConfig({}).GRPC_PORT).toBe(8001);
    expect(parseWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379', METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
  });
});
