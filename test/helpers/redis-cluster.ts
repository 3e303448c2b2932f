import { RedisProcess, baseArgs, redisCli, serverFolder, until } from './redis-process.js';

/** A Redis Cluster of `masters` masters (no replicas) on ports basePort, basePort + 1, ... */
export class TestRedisCluster {
  readonly nodes: RedisProcess[];
  readonly #folder = serverFolder('cluster');

  constructor(
    readonly basePort: number,
    readonly masters = 3,
  ) {
    this.nodes = Array.from({ length: masters }, (_, i) => {
      const port = basePort + i;
      // A node announces 127.0.0.1: alone (one master), it would otherwise announce no address at all.
      const cluster = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'];
      cluster.push('--cluster-announce-ip', '127.0.0.1');
      return new RedisProcess(port, [...baseArgs(port), ...cluster], this.#folder.dir);
    });
  }

  /** Seed list for REDIS_URL in cluster mode. */
  get url(): string {
    return this.nodes.map((node) => `redis://127.0.0.1:${node.port}`).join(',');
  }

  get env(): Record<string, string> {
    return { REDIS_MODE: 'cluster', REDIS_URL: this.url };
  }

  async start(): Promise<this> {
    await Promise.all(this.nodes.map((node) => node.start()));
    // One master cannot form a cluster through --cluster create: give it every slot itself.
    if (this.masters === 1) redisCli(['-p', String(this.basePort), 'cluster', 'addslotsrange', '0', '16383']);
    else
      redisCli(['--cluster', 'create', ...this.nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const ok = (port: number): boolean => redisCli(['-p', String(port), 'cluster', 'info']).includes('cluster_state:ok');
    await until(() => this.nodes.every((node) => ok(node.port)), 30_000, 'cluster_state:ok');
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    this.#folder.remove();
  }
}
