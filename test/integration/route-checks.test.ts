import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startTestGateway } from '../helpers/gateway.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { echoModel } from '../helpers/identity-model.js';
import { TestRepository } from '../helpers/repository.js';

/** A route to a model the repository lacks: an embedded gateway refuses to start; a distributed one (workers decide) starts. */
const repository = new TestRepository().add('echo', ...echoModel());
const policyFile = join(repository.dir, 'routes.yaml');
writeFileSync(policyFile, stringify({ routes: [{ name: 'r', tiers: [{ name: 't', model: 'does-not-exist' }] }] }));
const prefix = testPrefix();
afterAll(async () => {
  await cleanRedis(prefix);
  repository.remove();
});

describe('routes at start-up', () => {
  it('an embedded gateway refuses a route to a model its repository lacks, naming the field', async () => {
    await expect(startTestGateway(repository.dir, { SWITCHYARD_CONFIG: policyFile })).rejects.toThrow(
      `${policyFile}: routes[0].tiers[0].model: no model "does-not-exist" in the model repository ${repository.dir}`,
    );
  });

  it('a distributed gateway starts: the workers decide which models exist', async () => {
    const gateway = await startTestGateway(repository.dir, { ...REDIS_ENV, REDIS_PREFIX: prefix, SWITCHYARD_CONFIG: policyFile });
    expect((await fetch(`${gateway.url}/v2/health/live`)).status).toBe(200);
    await gateway.close();
  });
});
