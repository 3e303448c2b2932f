import type { RunningServer } from '../../gateway/server.js';
import { parseWorkerConfig } from '../../workers/config.js';
import { startWorker, type RunningWorker } from '../../workers/main.js';
import { get, startTestGateway } from './gateway.js';
import { waitFor } from './processes.js';
import { cleanRedis } from './redis.js';

export interface InProcessCluster {
  readonly worker: RunningWorker;
  readonly gateways: readonly RunningServer[];
  close(): Promise<void>;
}

/**
 * Two gateway instances and one worker in this process, sharing one Redis (env carries
 * REDIS_URL and REDIS_PREFIX): ready once `readyModel` is ready on both gateways.
 */
export async function startInProcessCluster(
  repository: string,
  env: Record<string, string>,
  readyModel: string,
  headers: Record<string, string>,
): Promise<InProcessCluster> {
  const worker = await startWorker(parseWorkerConfig({ ...env, MODEL_REPOSITORY: repository, WORKER_ID: 'w', LOG_LEVEL: 'silent' }));
  const gateways = [await startTestGateway(repository, env), await startTestGateway(repository, env)];
  for (const gateway of gateways) {
    await waitFor(async () => (await get(`${gateway.url}/v2/models/${readyModel}/ready`, headers)).status === 200, 10_000, 'ready');
  }
  return {
    worker,
    gateways,
    close: async () => {
      for (const gateway of gateways) await gateway.close();
      await worker.close();
      await cleanRedis(env.REDIS_PREFIX!);
    },
  };
}
