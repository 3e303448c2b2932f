import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../gateway/policy/policy-config.js';
import { inferQueueName } from '../../workers/queue/queue-names.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { configEnvironmentNames } from '../helpers/environment-names.js';
import { CHART, helm, render, type Manifest } from '../helpers/helm.js';
import { schemaProblems } from '../helpers/kubernetes-schemas.js';

/**
 * The chart rendered by a real helm (unpacked from a dev dependency, test/helpers/helm.ts) over a
 * matrix of values: `helm lint --strict`, every object checked against the official schemas
 * (kubernetes-models, @kubernetes-models/keda, @kubernetes-models/prometheus-operator), and the
 * facts that matter read from the rendered objects. What only a cluster shows is in docs/deployment.md.
 */
const ROOT = join(CHART, '../..');
type Values = Record<string, unknown>;
type Pool = Values & { name: string; models: { name: string; versions: string[] }[]; keda: Values };
const defaults = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Values & { workerPools: Pool[] };
const gpu = parseYaml(readFileSync(join(CHART, 'values-gpu.yaml'), 'utf8')) as { workerPools: Pool[] };
const cpuPool = defaults.workerPools[0]!;
const REDIS = { redis: { url: 'redis://redis.example:6379' } };
const OPERATOR_LABELS = { release: 'kube-prometheus-stack' };
const pool = (overrides: Partial<Pool>, keda: Values = {}): Pool => ({ ...cpuPool, ...overrides, keda: { ...cpuPool.keda, ...keda } });

const MATRIX: Record<string, Values[]> = {
  'laptop default': [REDIS],
  'values-gpu.yaml': [REDIS, gpu],
  'bundled Redis': [{ redis: { bundled: { enabled: true } } }],
  'external Redis over TLS, its URL in a Secret': [
    { redis: { url: 'rediss://redis.example:6380', urlSecret: { name: 'redis-credentials', key: 'url' } } },
    { workerPools: [pool({}, { enabled: true, trigger: 'redis' })] },
  ],
  'KEDA on, scaling from zero': [
    REDIS,
    {
      workerPools: [
        pool({}, { enabled: true, minReplicas: 0, trigger: 'prometheus' }),
        pool(
          {
            name: 'text',
            models: [
              { name: 'text-recognizer', versions: ['1', '2'] },
              { name: 'text-direction', versions: ['1'] },
            ],
          },
          { enabled: true, minReplicas: 0 },
        ),
        pool({ name: 'listed', models: [{ name: 'emotion', versions: ['1', '3'] }] }, { enabled: true, minReplicas: 0, trigger: 'redis' }),
      ],
    },
  ],
  'external Redis in database 2, KEDA on its redis trigger': [
    { redis: { url: 'redis://switchyard:s3cret@redis.example:6379/2' } },
    { workerPools: [pool({}, { enabled: true, trigger: 'redis' })] },
  ],
  'monitoring on': [REDIS, { monitoring: { serviceMonitor: { labels: OPERATOR_LABELS }, prometheusRule: { labels: OPERATOR_LABELS } } }],
  'noisy-neighbour load test, tenants with priority and fair share': [
    REDIS,
    {
      apiKeys: { keys: { admin: '', batch: '', web: '' } },
      policy: {
        config: {
          tenants: [
            { name: 'admin', role: 'admin', keys: [{ file: '/etc/switchyard/keys/admin' }] },
            { name: 'batch', keys: [{ file: '/etc/switchyard/keys/batch' }], priority: 5, max_priority: 5, max_concurrency: 64, weight: 1 },
            { name: 'web', keys: [{ file: '/etc/switchyard/keys/web' }], weight: 3, priority_strict: true },
          ],
        },
      },
      loadtest: { enabled: true, scenario: 'noisy-neighbour', tenantKeys: { NOISY_KEY: 'batch', QUIET_KEY: 'web' } },
    },
  ],
  'load-test Job on': [
    REDIS,
    { loadtest: { enabled: true, scenarioConfigMap: 'scenarios', persistence: { enabled: true, storageClass: 'fast' } } },
  ],
  'network policies on': [
    { redis: { bundled: { enabled: true } } },
    {
      networkPolicy: {
        enabled: true,
        extraRedisPeers: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } }],
      },
    },
  ],
  'models from an image, long drains': [
    REDIS,
    {
      modelRepository: { source: 'image', image: { tag: '7' } },
      gateway: { shutdownGraceSeconds: 90, preStopSeconds: 20 },
      workerPools: [pool({ maxJobSeconds: 600, preStopSeconds: 30 })],
    },
  ],
  'models from a volume, fixed replicas': [
    REDIS,
    { modelRepository: { source: 'volume', volume: { claimName: 'models', subPath: 'v3' } }, gateway: { autoscaling: { enabled: false } } },
  ],
  'external Redis Sentinel with ACL and TLS': [
    {
      redis: {
        url: 'rediss://s1.example:26379,rediss://s2.example:26379',
        mode: 'sentinel',
        sentinelMaster: 'switchyard',
        username: 'switchyard',
        passwordSecret: { name: 'redis-auth', key: 'password' },
        tlsCaSecret: { name: 'redis-ca', key: 'ca.crt' },
      },
    },
  ],
  'external Redis Cluster': [{ redis: { url: 'redis://n1.example:6379,redis://n2.example:6379', mode: 'cluster' } }],
  'gateway TLS': [REDIS, { tls: { enabled: true, secretName: 'gateway-tls' }, loadtest: { enabled: true } }],
  'gateway TLS with client certificates': [
    REDIS,
    {
      tls: {
        enabled: true,
        secretName: 'gateway-tls',
        clientCA: { enabled: true, secretName: 'clients-ca', clientSecretName: 'gateway-client' },
      },
    },
  ],
};

const rendered = new Map<string, Manifest[]>();
beforeAll(() => {
  for (const [name, valueSets] of Object.entries(MATRIX)) rendered.set(name, render(valueSets));
});
const objects = (entry: string): Manifest[] => rendered.get(entry)!;
const find = <T>(entry: string, kind: string, name: string): T => {
  const found = objects(entry).find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (!found)
    throw new Error(
      `${entry}: no ${kind}/${name} among ${objects(entry)
        .map((m) => `${m.kind}/${m.metadata.name}`)
        .join(', ')}`,
    );
  return found as T;
};
const all = <T>(entry: string, kind: string): T[] => objects(entry).filter((manifest) => manifest.kind === kind) as T[];
const workers = (entry: string): IDeployment[] =>
  all<IDeployment>(entry, 'Deployment').filter((d) => d.metadata!.labels!['app.kubernetes.io/component'] === 'worker');
const container = (deployment: IDeployment | IJob, name: string): IContainer =>
  deployment.spec!.template.spec!.containers.find((c) => c.name === name)!;
const env = (c: IContainer): Map<string, NonNullable<IContainer['env']>[number]> =>
  new Map((c.env ?? []).map((entry) => [entry.name, entry]));
const envValue = (c: IContainer, name: string): string | undefined => env(c).get(name)?.value;
const namedPort = (c: IContainer, name: string): number => c.ports!.find((port) => port.name === name)!.containerPort;
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the Helm chart, rendered by helm', () => {
  it.each(Object.keys(MATRIX))('%s: helm lint --strict passes', (entry) => {
    const result = helm(['lint', '--strict', CHART], MATRIX[entry]!);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('0 chart(s) failed');
  });

  it.each(Object.keys(MATRIX))('%s: every rendered object validates against its official schema', async (entry) => {
    expect(objects(entry).length).toBeGreaterThan(5);
    const problems = (await Promise.all(objects(entry).map(schemaProblems))).flat();
    expect(problems).toEqual([]);
  });

  it('the schema check catches what it claims to: a wrong type, a missing field, an unknown kind, a bad name', async () => {
    const deployment = structuredClone(find<Manifest>('laptop default', 'Deployment', 'sy-gateway')) as unknown as IDeployment;
    deployment.spec!.template.spec!.containers[0]!.ports![0]!.containerPort = '8080' as unknown as number;
    expect((await schemaProblems(deployment as unknown as Manifest)).join()).toMatch(/containerPort must be integer/);
    const service = structuredClone(find<Manifest>('laptop default', 'Service', 'sy-gateway')) as Manifest & { spec: { ports: unknown[] } };
    service.spec.ports = [{ name: 'http' }];
    expect((await schemaProblems(service)).join()).toMatch(/ports\/0 must have required property '?port/);
    const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(await schemaProblems(widget)).toEqual(['Widget/w: no schema for example.com/v1 Widget']);
    expect(await schemaProblems({ ...service, metadata: { name: 'Sy_Gateway' } })).toContain(
      'Service/Sy_Gateway: not a valid Service name',
    );
  });

  it('the laptop default renders the gateway, one CPU worker pool and their Services, policy, keys, autoscaler and monitoring', () => {
    const kinds = objects('laptop default')
      .map((m) => `${m.kind}/${m.metadata.name}`)
      .sort();
    expect(kinds).toEqual([
      'ConfigMap/sy-grafana-dashboard',
      'ConfigMap/sy-policy',
      'Deployment/sy-gateway',
      'Deployment/sy-worker-cpu',
      'HorizontalPodAutoscaler/sy-gateway',
      'NetworkPolicy/sy-workers',
      'Pod/sy-test-inference',
      'PodDisruptionBudget/sy-gateway',
      'PrometheusRule/sy-alerts',
      'Secret/sy-api-keys',
      'Service/sy-gateway',
      'Service/sy-workers',
      'ServiceMonitor/sy-gateway',
      'ServiceMonitor/sy-workers',
    ]);
    // Without the operator's CRDs in the cluster, no monitoring.coreos.com objects (they would fail the install).
    const bare = render(MATRIX['laptop default']!, { apiVersions: [] });
    expect(bare.filter((m) => m.apiVersion.startsWith('monitoring.coreos.com'))).toEqual([]);
    expect(bare.length).toBe(kinds.length - 3);
  });

  it('every selector and reference finds its object: Deployments their pods, Services and the PDB some pods, the HPA its Deployment', () => {
    for (const entry of Object.keys(MATRIX)) {
      const deployments = all<IDeployment>(entry, 'Deployment');
      const podLabels = deployments.map((d) => d.spec!.template.metadata!.labels!);
      for (const d of deployments) {
        expect(matches(d.spec!.selector.matchLabels!, d.spec!.template.metadata!.labels!), `${entry}: ${d.metadata!.name}`).toBe(true);
      }
      for (const service of all<IService>(entry, 'Service')) {
        expect(
          podLabels.some((labels) => matches(service.spec!.selector!, labels)),
          `${entry}: Service ${service.metadata!.name}`,
        ).toBe(true);
      }
      for (const pdb of all<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>(entry, 'PodDisruptionBudget')) {
        expect(
          podLabels.some((labels) => matches(pdb.spec.selector.matchLabels, labels)),
          entry,
        ).toBe(true);
      }
      for (const hpa of all<Manifest & { spec: { scaleTargetRef: { kind: string; name: string } } }>(entry, 'HorizontalPodAutoscaler')) {
        expect(deployments.map((d) => d.metadata!.name)).toContain(hpa.spec.scaleTargetRef.name);
      }
    }
  });

  it('the pods set only environment names Switchyard reads', () => {
    const names = configEnvironmentNames();
    let checked = 0;
    for (const entry of Object.keys(MATRIX)) {
      for (const deployment of all<IDeployment>(entry, 'Deployment').filter((d) => d.metadata!.name !== 'sy-redis')) {
        for (const name of env(deployment.spec!.template.spec!.containers[0]!).keys()) {
          expect(names, `${entry}: ${deployment.metadata!.name} sets ${name}`).toContain(name);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('probes ask endpoints that exist, on the ports the processes listen on', () => {
    const health = readFileSync(join(ROOT, 'gateway/routes/health.ts'), 'utf8');
    const metricsServer = readFileSync(join(ROOT, 'workers/metrics/metrics-server.ts'), 'utf8');
    for (const entry of Object.keys(MATRIX)) {
      const gateway = container(find<IDeployment>(entry, 'Deployment', 'sy-gateway'), 'gateway');
      const port = Number(envValue(gateway, 'PORT'));
      const https = envValue(gateway, 'TLS_CERT_FILE') !== undefined;
      if (envValue(gateway, 'TLS_CA_FILE')) {
        // The kubelet has no client certificate: under mTLS the probes only see the listener accept.
        for (const probe of [gateway.livenessProbe!, gateway.readinessProbe!])
          expect(namedPort(gateway, probe.tcpSocket!.port as string)).toBe(port);
      } else if (gateway.readinessProbe!.grpc) {
        // gRPC health on the gRPC port, only where it is plaintext (the kubelet's gRPC probe has no TLS).
        const grpcPort = Number(envValue(gateway, 'GRPC_PORT'));
        expect(https, entry).toBe(false);
        expect(namedPort(gateway, 'grpc')).toBe(grpcPort);
        expect(gateway.livenessProbe!.grpc).toEqual({ port: grpcPort, service: 'live' });
        expect(gateway.readinessProbe!.grpc).toEqual({ port: grpcPort, service: '' });
        expect(readFileSync(join(ROOT, 'gateway/grpc/grpc-server.ts'), 'utf8')).toContain(
          "ready: ['', 'inference.GRPCInferenceService'], live: 'live'",
        );
      } else {
        for (const probe of [gateway.livenessProbe!, gateway.readinessProbe!]) {
          expect(namedPort(gateway, probe.httpGet!.port as string)).toBe(port);
          expect(probe.httpGet!.scheme, entry).toBe(https ? 'HTTPS' : 'HTTP');
          expect(health.replace(/app\.get\(\s+/g, 'app.get(')).toContain(`app.get('${probe.httpGet!.path}'`);
        }
        expect(gateway.readinessProbe!.httpGet!.path).toBe('/v2/health/ready');
      }
      for (const deployment of workers(entry)) {
        const worker = container(deployment, 'worker');
        const metricsPort = Number(envValue(worker, 'METRICS_PORT'));
        expect(namedPort(worker, worker.readinessProbe!.httpGet!.port as string)).toBe(metricsPort);
        expect(namedPort(worker, worker.livenessProbe!.httpGet!.port as string)).toBe(metricsPort);
        expect(worker.readinessProbe!.httpGet!.path).toBe('/ready');
        expect(metricsServer).toContain("path === '/ready'");
      }
      // The gateway Service and the workers' metrics Service forward to ports the pods name.
      const service = find<IService>(entry, 'Service', 'sy-gateway');
      expect(namedPort(gateway, service.spec!.ports![0]!.targetPort as string)).toBe(port);
    }
  });

  it("grace periods outlast the preStop sleep plus the drain, and a worker's drain outlasts its longest job", () => {
    for (const entry of Object.keys(MATRIX)) {
      const values = Object.assign({}, defaults, ...MATRIX[entry]!) as typeof defaults;
      const gatewayPod = find<IDeployment>(entry, 'Deployment', 'sy-gateway').spec!.template.spec!;
      const gateway = gatewayPod.containers[0]!;
      const sleep = (c: IContainer): number => Number(c.lifecycle!.preStop!.exec!.command![1]);
      expect(gatewayPod.terminationGracePeriodSeconds!, entry).toBeGreaterThan(
        sleep(gateway) + Number(envValue(gateway, 'SHUTDOWN_GRACE_MS')) / 1000,
      );
      for (const [i, deployment] of workers(entry).entries()) {
        const pod = deployment.spec!.template.spec!;
        const worker = pod.containers[0]!;
        const drainSeconds = Number(envValue(worker, 'SHUTDOWN_GRACE_MS')) / 1000;
        expect(drainSeconds, entry).toBeGreaterThan(values.workerPools[i]!.maxJobSeconds as number);
        expect(pod.terminationGracePeriodSeconds!, entry).toBeGreaterThan(sleep(worker) + drainSeconds);
      }
    }
    expect(
      find<IDeployment>('models from an image, long drains', 'Deployment', 'sy-worker-cpu').spec!.template.spec!
        .terminationGracePeriodSeconds,
    ).toBe(645);
  });

  it('GPU pools request a GPU, tolerate the GPU taint and pick GPU nodes; the CPU pool does none of that', () => {
    const pools = workers('values-gpu.yaml');
    expect(pools.map((d) => d.metadata!.name)).toEqual(['sy-worker-onnx-gpu', 'sy-worker-tf-gpu']);
    for (const deployment of pools) {
      const pod = deployment.spec!.template.spec!;
      expect(String(pod.containers[0]!.resources!.limits!['nvidia.com/gpu'])).toBe('1');
      expect(pod.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
      expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
      expect(pod.runtimeClassName).toBe('nvidia');
    }
    expect(envValue(pools[1]!.spec!.template.spec!.containers[0]!, 'WORKER_POOLS')).toBe('tf');
    const cpu = find<IDeployment>('laptop default', 'Deployment', 'sy-worker-cpu').spec!.template.spec!;
    expect(cpu.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBeUndefined();
    expect(cpu.tolerations ?? []).toEqual([]);
  });

  it("KEDA counts the queues the code names: the prometheus trigger's pattern and the redis trigger's lists", () => {
    const entry = 'KEDA on, scaling from zero';
    const pools = (MATRIX[entry]![1] as { workerPools: Pool[] }).workerPools;
    const everyQueue = pools.flatMap((p) => p.models.flatMap((m) => m.versions.map((v) => inferQueueName(m.name, v))));
    expect(readFileSync(join(ROOT, 'gateway/metrics/gateway-metrics.ts'), 'utf8')).toContain("name('queue_depth')");
    for (const p of pools) {
      const scaled = find<IScaledObject>(entry, 'ScaledObject', `sy-worker-${p.name}`);
      const ours = p.models.flatMap((m) => m.versions.map((v) => inferQueueName(m.name, v)));
      expect(scaled.spec!.scaleTargetRef.name).toBe(`sy-worker-${p.name}`);
      expect(scaled.spec!.minReplicaCount).toBe(0);
      // KEDA owns the replica count: the Deployment leaves it out.
      expect(find<IDeployment>(entry, 'Deployment', `sy-worker-${p.name}`).spec!.replicas).toBeUndefined();
      if (p.keda.trigger === 'prometheus') {
        const [trigger] = scaled.spec!.triggers;
        const query = trigger!.metadata!.query as string;
        expect(query).toContain('switchyard_queue_depth{namespace="serving"');
        // The matcher is a PromQL string (its escapes read as JSON's); PromQL anchors the regex (RE2, which JavaScript reads alike here).
        const pattern = JSON.parse(`"${/queue=~"((?:[^"\\]|\\.)*)"/.exec(query)![1]!}"`) as string;
        const regex = new RegExp(`^(?:${pattern})$`);
        for (const queue of everyQueue) expect(regex.test(queue), `${p.name} counts ${queue}`).toBe(ours.includes(queue));
        expect(regex.test(inferQueueName('text-recognizerX', '1'))).toBe(false);
        expect(trigger!.metadata!.threshold).toBe(String(p.keda.targetQueueDepth));
        // KEDA activates above the value: one queued request wakes a pool at zero.
        expect(trigger!.metadata!.activationThreshold).toBe('0');
      } else {
        const lists = scaled.spec!.triggers.map((t) => ({ type: t.type, list: t.metadata!.listName, address: t.metadata!.address }));
        expect(lists).toEqual(
          ours.map((queue) => ({ type: 'redis', list: redisKeys('switchyard').waiting(queue).wait, address: 'redis.example:6379' })),
        );
        expect(scaled.spec!.triggers.every((t) => t.metadata!.activationListLength === '0')).toBe(true);
        expect(scaled.spec!.triggers.every((t) => t.metadata!.enableTLS === undefined)).toBe(true);
      }
    }
    expect(all('laptop default', 'ScaledObject')).toEqual([]);
    const gpuPool = find<IScaledObject>('values-gpu.yaml', 'ScaledObject', 'sy-worker-onnx-gpu').spec!;
    expect(gpuPool.minReplicaCount).toBe(0);
    expect(gpuPool.triggers[0]!.metadata!.activationThreshold).toBe('0');
  });

  it("an external Redis over TLS: REDIS_URL from the Secret in every pod, KEDA's redis trigger speaks TLS to the URL's host", () => {
    const entry = 'external Redis over TLS, its URL in a Secret';
    for (const deployment of all<IDeployment>(entry, 'Deployment')) {
      const redisUrl = env(deployment.spec!.template.spec!.containers[0]!).get('REDIS_URL')!;
      expect(redisUrl.value).toBeUndefined();
      expect(redisUrl.valueFrom).toEqual({ secretKeyRef: { name: 'redis-credentials', key: 'url' } });
    }
    const [trigger] = find<IScaledObject>(entry, 'ScaledObject', 'sy-worker-cpu').spec!.triggers;
    expect(trigger!.metadata).toMatchObject({
      address: 'redis.example:6380',
      enableTLS: 'true',
      listName: redisKeys('switchyard').waiting('infer.mlp-classifier.1').wait,
    });
    expect(objects(entry).some((m) => m.metadata.name === 'sy-redis')).toBe(false);
  });

  it("KEDA's redis trigger reads the database REDIS_URL names, at the URL's host, without its credentials", () => {
    const [trigger] = find<IScaledObject>('external Redis in database 2, KEDA on its redis trigger', 'ScaledObject', 'sy-worker-cpu').spec!
      .triggers;
    expect(trigger!.metadata).toMatchObject({ address: 'redis.example:6379', databaseIndex: '2' });
    expect(JSON.stringify(trigger)).not.toContain('s3cret');
    for (const entry of ['external Redis over TLS, its URL in a Secret', 'KEDA on, scaling from zero']) {
      const triggers = all<IScaledObject>(entry, 'ScaledObject').flatMap((scaled) => scaled.spec!.triggers);
      for (const t of triggers.filter((t) => t.type === 'redis')) expect(t.metadata!.databaseIndex).toBe('0');
    }
  });

  it('an external Sentinel or Cluster: REDIS_MODE, the master group and the URL list in every pod; password and CA are files of mounted Secrets', () => {
    for (const deployment of all<IDeployment>('external Redis Sentinel with ACL and TLS', 'Deployment')) {
      const pod = deployment.spec!.template.spec!;
      const main = pod.containers[0]!;
      expect(envValue(main, 'REDIS_URL')).toBe('rediss://s1.example:26379,rediss://s2.example:26379');
      expect(envValue(main, 'REDIS_MODE')).toBe('sentinel');
      expect(envValue(main, 'REDIS_SENTINEL_MASTER')).toBe('switchyard');
      expect(envValue(main, 'REDIS_USERNAME')).toBe('switchyard');
      for (const [variable, volume, secret, key] of [
        ['REDIS_PASSWORD_FILE', 'redis-password', 'redis-auth', 'password'],
        ['REDIS_TLS_CA_FILE', 'redis-ca', 'redis-ca', 'ca.crt'],
      ]) {
        const mount = main.volumeMounts!.find((m) => m.name === volume)!;
        expect(mount.readOnly).toBe(true);
        expect(envValue(main, variable!)).toBe(`${mount.mountPath}/${key}`);
        expect(pod.volumes!.find((v) => v.name === volume)!.secret!.secretName).toBe(secret);
      }
    }
    for (const deployment of all<IDeployment>('external Redis Cluster', 'Deployment')) {
      const main = deployment.spec!.template.spec!.containers[0]!;
      expect(envValue(main, 'REDIS_MODE')).toBe('cluster');
      expect(env(main).has('REDIS_SENTINEL_MASTER') || env(main).has('REDIS_PASSWORD_FILE')).toBe(false);
    }
    expect(helm(['template', 'sy', CHART], [{ redis: { bundled: { enabled: true }, mode: 'cluster' } }]).stderr).toMatch(
      /needs an external Redis/,
    );
    expect(helm(['template', 'sy', CHART], [{ redis: { url: 'redis://s1:26379', mode: 'sentinel' } }]).stderr).toMatch(
      /needs redis.sentinelMaster/,
    );
  });

  it("the bundled Redis: one noeviction instance without persistence, its Service is the pods' REDIS_URL, only the release reaches it", () => {
    const entry = 'network policies on';
    const redis = find<IDeployment>(entry, 'Deployment', 'sy-redis');
    const args = redis.spec!.template.spec!.containers[0]!.args;
    expect(args).toEqual(['--save', '', '--appendonly', 'no', '--maxmemory', '1gb', '--maxmemory-policy', 'noeviction']);
    const service = find<IService>(entry, 'Service', 'sy-redis');
    expect(matches(service.spec!.selector!, redis.spec!.template.metadata!.labels!)).toBe(true);
    for (const deployment of [find<IDeployment>(entry, 'Deployment', 'sy-gateway'), ...workers(entry)]) {
      expect(envValue(deployment.spec!.template.spec!.containers[0]!, 'REDIS_URL')).toBe(
        `redis://sy-redis:${service.spec!.ports![0]!.port}`,
      );
    }
    const policy = find<INetworkPolicy>(entry, 'NetworkPolicy', 'sy-redis');
    expect(matches(policy.spec!.podSelector.matchLabels!, redis.spec!.template.metadata!.labels!)).toBe(true);
    const peers = policy.spec!.ingress![0]!.from!;
    const gatewayLabels = find<IDeployment>(entry, 'Deployment', 'sy-gateway').spec!.template.metadata!.labels!;
    const workerLabels = workers(entry)[0]!.spec!.template.metadata!.labels!;
    const selects = (labels: Record<string, string>) =>
      peers.filter((peer) => peer.podSelector && matches(peer.podSelector.matchLabels!, labels));
    expect(selects(gatewayLabels)).toHaveLength(1);
    expect(selects(workerLabels)).toHaveLength(1);
    expect(peers).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } });
    expect(policy.spec!.ingress![0]!.ports).toEqual([{ port: 6379 }]);
  });

  it('the workers\' network policy admits the gateway and the monitoring namespace on the port the workers name "metrics"', () => {
    const entry = 'network policies on';
    const policy = find<INetworkPolicy>(entry, 'NetworkPolicy', 'sy-workers');
    const worker = workers(entry)[0]!;
    expect(matches(policy.spec!.podSelector.matchLabels!, worker.spec!.template.metadata!.labels!)).toBe(true);
    expect(namedPort(container(worker, 'worker'), policy.spec!.ingress![0]!.ports![0]!.port as string)).toBe(9464);
    expect(policy.spec!.ingress![0]!.from).toContainEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    });
    expect(render([REDIS, { networkPolicy: { enabled: false } }]).filter((m) => m.kind === 'NetworkPolicy')).toEqual([]);
  });

  it("monitoring: the ServiceMonitors select the Services and name their ports; the rules and the dashboard are the chart's files", () => {
    const entry = 'monitoring on';
    for (const [monitorName, serviceName] of [
      ['sy-gateway', 'sy-gateway'],
      ['sy-workers', 'sy-workers'],
    ] as const) {
      const monitor = find<IServiceMonitor>(entry, 'ServiceMonitor', monitorName);
      const service = find<IService>(entry, 'Service', serviceName);
      expect(monitor.metadata!.labels!.release).toBe('kube-prometheus-stack');
      expect(matches(monitor.spec.selector.matchLabels!, service.metadata!.labels!)).toBe(true);
      expect(service.spec!.ports!.map((port) => port.name)).toContain(monitor.spec.endpoints![0]!.port);
    }
    // The gateway's /metrics needs the admin key; it is read from the release's key Secret.
    const gatewayMonitor = find<IServiceMonitor>(entry, 'ServiceMonitor', 'sy-gateway');
    expect(gatewayMonitor.spec.endpoints![0]!.authorization).toEqual({
      type: 'Bearer',
      credentials: { name: 'sy-api-keys', key: 'admin' },
    });
    const rules = find<Manifest & { spec: { groups: { rules: { alert?: string }[] }[] } }>(entry, 'PrometheusRule', 'sy-alerts');
    expect(rules.spec.groups.flatMap((group) => group.rules).length).toBeGreaterThan(3);
    const dashboard = find<IConfigMap>(entry, 'ConfigMap', 'sy-grafana-dashboard');
    expect(dashboard.metadata!.labels!.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard.data!['switchyard.json']!)).toMatchObject({ panels: expect.any(Array) });
  });

  it("the policy ConfigMap is one the gateway accepts; the admin tenant's key is a file of the mounted key Secret", () => {
    const entry = 'laptop default';
    const policy = policySchema.parse(parseYaml(find<IConfigMap>(entry, 'ConfigMap', 'sy-policy').data!['switchyard.yaml']!));
    const admin = policy.tenants.find((tenant) => tenant.role === 'admin')!;
    const pod = find<IDeployment>(entry, 'Deployment', 'sy-gateway').spec!.template.spec!;
    const keysMount = pod.containers[0]!.volumeMounts!.find((mount) => mount.name === 'keys')!;
    expect(pod.volumes!.find((volume) => volume.name === 'keys')!.secret!.secretName).toBe('sy-api-keys');
    const secret = find<Manifest & { data: Record<string, string> }>(entry, 'Secret', 'sy-api-keys');
    const [keyName] = Object.keys(secret.data);
    expect(admin.keys).toContainEqual({ file: `${keysMount.mountPath}/${keyName}` });
    // A generated key: 40 random characters, base64 in the Secret.
    expect(Buffer.from(secret.data[keyName!]!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{40}$/);
    const policyMount = pod.containers[0]!.volumeMounts!.find((mount) => mount.name === 'policy')!;
    expect(envValue(pod.containers[0]!, 'SWITCHYARD_CONFIG')).toBe(policyMount.mountPath);
  });

  it('a model repository from an image is copied by an init container; from a volume it is mounted read-only', () => {
    for (const deployment of all<IDeployment>('models from an image, long drains', 'Deployment')) {
      const pod = deployment.spec!.template.spec!;
      expect(pod.initContainers![0]).toMatchObject({ image: 'switchyard/models:7', command: ['cp', '-r', '/models/.', '/repository/'] });
      expect(envValue(pod.containers[0]!, 'MODEL_REPOSITORY')).toBe('/models');
      expect(pod.volumes).toContainEqual({ name: 'models', emptyDir: {} });
    }
    const pod = find<IDeployment>('models from a volume, fixed replicas', 'Deployment', 'sy-gateway').spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'models', persistentVolumeClaim: { claimName: 'models', readOnly: true } });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'models', mountPath: '/models', readOnly: true, subPath: 'v3' });
    expect(find<IDeployment>('models from a volume, fixed replicas', 'Deployment', 'sy-gateway').spec!.replicas).toBe(2);
    expect(all('models from a volume, fixed replicas', 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it("tenants' priority and fair-share fields reach the gateway's policy as written, and a tenant scenario gets each tenant's key", () => {
    const entry = 'noisy-neighbour load test, tenants with priority and fair share';
    const policy = policySchema.parse(parseYaml(find<IConfigMap>(entry, 'ConfigMap', 'sy-policy').data!['switchyard.yaml']!));
    expect(
      policy.tenants.map(({ name, priority, max_priority, max_concurrency, weight, priority_strict }) => ({
        name,
        priority,
        max_priority,
        max_concurrency,
        weight,
        priority_strict,
      })),
    ).toEqual([
      { name: 'admin', priority: 0, max_priority: 0, max_concurrency: undefined, weight: 1, priority_strict: false },
      { name: 'batch', priority: 5, max_priority: 5, max_concurrency: 64, weight: 1, priority_strict: false },
      { name: 'web', priority: 0, max_priority: 0, max_concurrency: undefined, weight: 3, priority_strict: true },
    ]);
    const loadtest = env(container(find<IJob>(entry, 'Job', 'sy-loadtest-1'), 'loadtest'));
    expect(loadtest.get('NOISY_KEY')!.valueFrom).toEqual({ secretKeyRef: { name: 'sy-api-keys', key: 'batch' } });
    expect(loadtest.get('QUIET_KEY')!.valueFrom).toEqual({ secretKeyRef: { name: 'sy-api-keys', key: 'web' } });
  });

  it('the load-test Job runs the compiled CLI against the gateway Service, with the admin key, a TTL, and its report on a claim', () => {
    const entry = 'load-test Job on';
    expect(all('laptop default', 'Job')).toEqual([]);
    const job = find<IJob>(entry, 'Job', 'sy-loadtest-1');
    const loadtest = container(job, 'loadtest');
    const script = loadtest.args![0]!;
    // The image has no TypeScript compiler: the Job runs what the build compiles from this source.
    expect(existsSync(join(ROOT, 'bench/loadtest/cli.ts'))).toBe(true);
    const service = find<IService>(entry, 'Service', 'sy-gateway');
    const target = `http://sy-gateway:${service.spec!.ports![0]!.port}`;
    const flags = `--target ${target} --scenario /scenarios/steady --duration 60 --out /reports --key "$LOADTEST_KEY"`;
    expect(script).toBe(`exec node dist/bench/loadtest/cli.js ${flags}`);
    expect(env(loadtest).get('LOADTEST_KEY')!.valueFrom).toEqual({ secretKeyRef: { name: 'sy-api-keys', key: 'admin' } });
    expect(job.spec!.ttlSecondsAfterFinished).toBe(86400);
    expect(job.spec!.template.spec!.volumes).toContainEqual({
      name: 'reports',
      persistentVolumeClaim: { claimName: 'sy-loadtest-reports' },
    });
    expect(
      find<Manifest & { spec: { storageClassName: string } }>(entry, 'PersistentVolumeClaim', 'sy-loadtest-reports').spec.storageClassName,
    ).toBe('fast');
  });

  it("the load-test Job's default scenario is one the CLI ships", () => {
    const [job] = render([REDIS, { loadtest: { enabled: true } }]).filter((m) => m.kind === 'Job') as IJob[];
    const scenario = /--scenario (\S+)/.exec(container(job!, 'loadtest').args![0]!)![1]!;
    expect(scenario).toBe((defaults.loadtest as Values).scenario);
    expect(existsSync(join(ROOT, 'bench/loadtest/scenarios', `${scenario}.json`))).toBe(true);
  });

  it('the Helm test hook posts an inference to the gateway Service with the admin key', () => {
    const pod = find<IPod>('laptop default', 'Pod', 'sy-test-inference');
    expect(pod.metadata!.annotations!['helm.sh/hook']).toBe('test');
    const test = pod.spec!.containers[0]!;
    const service = find<IService>('laptop default', 'Service', 'sy-gateway');
    expect(envValue(test, 'GATEWAY')).toBe(`http://sy-gateway:${service.spec!.ports![0]!.port}`);
    expect(env(test).get('API_KEY')!.valueFrom).toEqual({ secretKeyRef: { name: 'sy-api-keys', key: 'admin' } });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Job's shell script interpolates it, not this test
    expect(test.command!.at(-1)).toContain('/v2/models/${process.env.MODEL}/infer');
  });

  it("gateway TLS: the Secret is a whole volume (rotations reach it), TLS_* name its files, probes speak HTTPS, the chart's clients trust its CA", () => {
    const entry = 'gateway TLS';
    const pod = find<IDeployment>(entry, 'Deployment', 'sy-gateway').spec!.template.spec!;
    const gateway = pod.containers[0]!;
    const mount = gateway.volumeMounts!.find((m) => m.name === 'tls')!;
    expect(mount).toEqual({ name: 'tls', mountPath: '/etc/switchyard/tls', readOnly: true });
    const [source] = pod.volumes!.find((v) => v.name === 'tls')!.projected!.sources!;
    expect(source!.secret).toEqual({
      name: 'gateway-tls',
      items: [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ],
    });
    expect(envValue(gateway, 'TLS_CERT_FILE')).toBe(`${mount.mountPath}/tls.crt`);
    expect(envValue(gateway, 'TLS_KEY_FILE')).toBe(`${mount.mountPath}/tls.key`);
    expect(env(gateway).has('TLS_CA_FILE')).toBe(false);
    expect(gateway.readinessProbe!.httpGet).toEqual({ path: '/v2/health/ready', port: 'http', scheme: 'HTTPS' });
    const monitor = find<IServiceMonitor>(entry, 'ServiceMonitor', 'sy-gateway').spec.endpoints![0]!;
    expect(monitor.scheme).toBe('https');
    expect(monitor.tlsConfig).toEqual({ serverName: 'sy-gateway.serving.svc', ca: { secret: { name: 'gateway-tls', key: 'ca.crt' } } });
    const test = find<IPod>(entry, 'Pod', 'sy-test-inference').spec!;
    expect(envValue(test.containers[0]!, 'GATEWAY')).toBe('https://sy-gateway:8080');
    const caOnly = { secret: { name: 'gateway-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } };
    expect(test.volumes).toEqual([{ name: 'gateway-tls', projected: { sources: [caOnly] } }]);
    expect(envValue(test.containers[0]!, 'TLS_DIR')).toBe(test.containers[0]!.volumeMounts![0]!.mountPath);
    const loadtest = container(find<IJob>(entry, 'Job', 'sy-loadtest-1'), 'loadtest');
    expect(loadtest.args![0]).toContain('--target https://sy-gateway:8080 ');
    const caMount = loadtest.volumeMounts!.find((m) => m.name === 'gateway-tls')!;
    expect(envValue(loadtest, 'NODE_EXTRA_CA_CERTS')).toBe(`${caMount.mountPath}/ca.crt`);
  });

  it("gateway mTLS: TLS_CA_FILE is the client CA's file, probes only connect, Prometheus and the Helm test present the client certificate", () => {
    const entry = 'gateway TLS with client certificates';
    const pod = find<IDeployment>(entry, 'Deployment', 'sy-gateway').spec!.template.spec!;
    const gateway = pod.containers[0]!;
    const sources = pod.volumes!.find((v) => v.name === 'tls')!.projected!.sources!;
    expect(sources[1]!.secret).toEqual({ name: 'clients-ca', items: [{ key: 'ca.crt', path: 'client-ca.crt' }] });
    expect(envValue(gateway, 'TLS_CA_FILE')).toBe('/etc/switchyard/tls/client-ca.crt');
    expect(gateway.livenessProbe!.tcpSocket).toEqual({ port: 'http' });
    expect(gateway.readinessProbe!.httpGet).toBeUndefined();
    const monitor = find<IServiceMonitor>(entry, 'ServiceMonitor', 'sy-gateway').spec.endpoints![0]!;
    expect(monitor.tlsConfig!.cert).toEqual({ secret: { name: 'gateway-client', key: 'tls.crt' } });
    expect(monitor.tlsConfig!.keySecret).toEqual({ name: 'gateway-client', key: 'tls.key' });
    const test = find<IPod>(entry, 'Pod', 'sy-test-inference').spec!;
    const items = [
      { key: 'tls.crt', path: 'client.crt' },
      { key: 'tls.key', path: 'client.key' },
    ];
    expect(test.volumes![0]!.projected!.sources![1]!.secret).toEqual({ name: 'gateway-client', items });
  });

  describe("values that must fail, fail with the chart's own message", () => {
    const failure = (valueSets: Values[]): string => {
      const result = helm(['template', 'sy', CHART], valueSets);
      expect(result.status).not.toBe(0);
      return result.stderr;
    };

    it('no Redis address', () => {
      expect(failure([])).toContain('set redis.url (or redis.urlSecret.name, or redis.bundled.enabled=true)');
      expect(failure([{ redis: { url: 'http://redis.example' } }])).toMatch(/at '\/redis\/url': '.*' does not match pattern/);
    });

    it("KEDA's redis trigger for a model with queue partitions (it could count only one of them)", () => {
      const partitioned = pool({ models: [{ name: 'mlp-classifier', versions: ['1'], partitions: 3 }] } as Partial<Pool>, {
        enabled: true,
        trigger: 'redis',
      });
      expect(failure([REDIS, { workerPools: [partitioned] }])).toContain(
        'pool "cpu" scales on KEDA\'s redis trigger, but model "mlp-classifier" has 3 queue partitions',
      );
      // The prometheus trigger sums every partition: that pool renders.
      const summed = helm(
        ['template', 'sy', CHART],
        [REDIS, { workerPools: [{ ...partitioned, keda: { ...partitioned.keda, trigger: 'prometheus' } }] }],
      );
      expect(summed.status, summed.stderr).toBe(0);
      expect(
        failure([REDIS, { workerPools: [pool({ models: [{ name: 'm', versions: ['1'], partitions: 0 }] } as Partial<Pool>)] }]),
      ).toContain("at '/workerPools/0/models/0/partitions'");
    });

    it("KEDA's redis trigger with the streams queue engine (it counts BullMQ's wait list); the engine reaches every pod", () => {
      const scaled = pool({}, { enabled: true, trigger: 'redis' });
      expect(failure([REDIS, { redis: { queueEngine: 'streams' } }, { workerPools: [scaled] }])).toContain(
        'with redis.queueEngine: streams use keda.trigger: prometheus',
      );
      const rendered = helm(
        ['template', 'sy', CHART],
        [REDIS, { redis: { queueEngine: 'streams' } }, { workerPools: [{ ...scaled, keda: { ...scaled.keda, trigger: 'prometheus' } }] }],
      );
      expect(rendered.status, rendered.stderr).toBe(0);
      expect(rendered.stdout.match(/name: QUEUE_ENGINE\n\s+value: "streams"/g)?.length).toBeGreaterThanOrEqual(2);
      expect(failure([REDIS, { redis: { queueEngine: 'kafka' } }])).toContain("at '/redis/queueEngine'");
    });

    it("KEDA's redis trigger with Sentinel or Cluster (it reads one server, and the URL lists sentinels or seeds)", () => {
      const scaled = { workerPools: [pool({}, { enabled: true, trigger: 'redis' })] };
      expect(failure([{ redis: { url: 'redis://s1:26379,redis://s2:26379', mode: 'sentinel', sentinelMaster: 'm' } }, scaled])).toContain(
        'pool "cpu" scales on KEDA\'s redis trigger, which reads one Redis server; with redis.mode: sentinel use keda.trigger: prometheus',
      );
      expect(failure([{ redis: { url: 'redis://c1:6379,redis://c2:6379', mode: 'cluster' } }, scaled])).toContain(
        'with redis.mode: cluster use keda.trigger: prometheus',
      );
    });

    it("KEDA's redis trigger with the URL only in a Secret", () => {
      expect(
        failure([
          { redis: { urlSecret: { name: 'redis-credentials' } } },
          { workerPools: [pool({}, { enabled: true, trigger: 'redis' })] },
        ]),
      ).toContain('the redis KEDA trigger needs redis.url (or the bundled Redis)');
    });

    it('an invalid pool: unknown runtime, a name that is no Kubernetes name, a misspelt key, two pools of one name, KEDA bounds reversed', () => {
      expect(failure([REDIS, { workerPools: [pool({ runtime: 'cuda' })] }])).toContain(
        "at '/workerPools/0/runtime': value must be one of 'onnx', 'tf'",
      );
      expect(failure([REDIS, { workerPools: [pool({ name: 'GPU_pool' })] }])).toContain(
        "at '/workerPools/0/name': 'GPU_pool' does not match pattern",
      );
      const misspelt = failure([REDIS, { workerPools: [pool({ replica: 2 } as Partial<Pool>)] }]);
      expect(misspelt).toMatch(/at '\/workerPools\/0': additional properties 'replica' not allowed/);
      expect(failure([REDIS, { workerPools: [pool({}), pool({})] }])).toContain('workerPools: two pools are named "cpu"');
      const reversed = failure([REDIS, { workerPools: [pool({}, { enabled: true, minReplicas: 3, maxReplicas: 2 })] }]);
      expect(reversed).toContain('pool "cpu" has keda.minReplicas above keda.maxReplicas');
      expect(failure([REDIS, { workerPools: [pool({ models: [{ name: 'm', versions: ['latest'] }] })] }])).toContain(
        "at '/workerPools/0/models/0/versions/0'",
      );
    });

    it('TLS without a Secret, client certificates without TLS or without a client certificate for the chart, the load test under mTLS', () => {
      const mtls = { enabled: true, secretName: 'gateway-tls', clientCA: { enabled: true, clientSecretName: 'gateway-client' } };
      expect(failure([REDIS, { tls: { enabled: true } }])).toContain('tls.enabled needs tls.secretName');
      const withoutTls = failure([REDIS, { tls: { clientCA: { enabled: true, clientSecretName: 'c' } } }]);
      expect(withoutTls).toContain('tls.clientCA.enabled (client certificates) needs tls.enabled');
      expect(failure([REDIS, { tls: { ...mtls, clientCA: { enabled: true } } }])).toContain(
        'tls.clientCA.enabled needs tls.clientCA.clientSecretName',
      );
      expect(failure([REDIS, { tls: mtls, loadtest: { enabled: true } }])).toContain('the load-test CLI presents no client certificate');
    });

    it('a model volume without a claim', () => {
      expect(failure([REDIS, { modelRepository: { source: 'volume' } }])).toContain('set modelRepository.volume.claimName');
    });
  });
});
