import { RedisProcess, baseArgs, redisCli, serverFolder, until } from './redis-process.js';

/** A Redis Cluster of `masters` masters, each with `replicas` replicas, on ports basePort, basePort + 1, ... */
export class TestRedisCluster {
  readonly nodes: RedisProcess[];
  readonly #folder = serverFolder('cluster');

  constructor(
    readonly basePort: number,
    readonly masters = 3,
    readonly replicas = 0,
  ) {
    this.nodes = Array.from({ length: masters * (1 + replicas) }, (_, i) => {
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
      redisCli([
        '--cluster',
        'create',
        ...this.nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(this.replicas),
        '--cluster-yes',
      ]);
    const ok = (port: number): boolean => redisCli(['-p', String(port), 'cluster', 'info']).includes('cluster_state:ok');
    await until(() => this.nodes.every((node) => ok(node.port)), 30_000, 'cluster_state:ok');
    if (this.replicas > 0) {
      // A replica can take over only once it has synced with its master.
      const synced = (port: number): boolean => {
        const info = redisCli(['-p', String(port), 'info', 'replication']);
        return info.includes('role:master') || info.includes('master_link_status:up');
      };
      await until(() => this.nodes.every((node) => synced(node.port)), 30_000, 'replicas in sync');
    }
    return this;
  }

  /** The port of the master that serves `slot` now, as a running node's CLUSTER NODES says. */
  ownerOf(slot: number): number {
    const live = this.nodes.find((node) => node.running)!;
    for (const line of redisCli(['-p', String(live.port), 'cluster', 'nodes'])
      .trim()
      .split('\n')) {
      const [, address, flags, , , , , link, ...ranges] = line.split(' ');
      if (!flags!.split(',').includes('master') || flags!.includes('fail') || link !== 'connected') continue;
      const owns = ranges.some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return slot >= from! && slot <= to!;
      });
      if (owns) return Number(address!.split(':')[1]!.split('@')[0]);
    }
    throw new Error(`no live master serves slot ${slot}`);
  }

  /** SIGKILLs the master that serves `slot`; returns its port. */
  async killMasterOf(slot: number): Promise<number> {
    const port = this.ownerOf(slot);
    await this.nodes.find((node) => node.port === port)!.kill('SIGKILL');
    return port;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    this.#folder.remove();
  }
}
