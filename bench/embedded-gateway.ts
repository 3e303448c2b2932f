import { resolve } from 'node:path';
import type { ChildServerOptions } from './child-server.js';
import { MODEL_NAME, REPO_ROOT, settings } from './settings.js';

/** The embedded gateway as every bench stage starts it: the bench model only, CPU_COUNT as the distributed worker gets. */
export function embeddedGatewayOptions(name = 'gateway'): ChildServerOptions {
  return {
    name,
    script: resolve(REPO_ROOT, 'dist', 'gateway', 'server.js'),
    cwd: REPO_ROOT,
    readyPath: '/v2/health/ready',
    // REDIS_URL emptied (empty counts as unset): embedded even when the shell sets it.
    env: {
      LOAD_MODELS: MODEL_NAME,
      LOG_LEVEL: 'warn',
      CPU_COUNT: String(settings.cpuCount),
      REDIS_URL: '',
      MODEL_REPOSITORY: resolve(REPO_ROOT, 'models'),
    },
    readyTimeoutMs: 120_000,
  };
}
