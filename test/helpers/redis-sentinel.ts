import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisProcess, baseArgs, redisCli, serverFolder, until } from './redis-process.js';

export const SENTINEL_MASTER = 'sy-master';

/**
 * One master (basePort), one replica (basePort + 1) and three sentinels (basePort + 2..4),
 * quorum 2. A master that stops answering for 1 s is failed over.
 */
export class TestSentinelGroup {
  readonly servers: RedisProcess[];
  readonly sentinels: RedisProcess[];
  readonly #folder = serverFolder('sentinel');

  constructor(readonly basePort: number) {
    this.servers = [0, 1].map((i) => {
      const port = basePort + i;
      return new RedisProcess(
        port,
        [...baseArgs(port), ...(i === 1 ? ['--replicaof', '127.0.0.1', String(basePort)] : [])],
        this.#folder.dir,
      );
    });
    this.sentinels = [2, 3, 4].map((i) => {
      const port = basePort + i;
      const file = join(this.#folder.dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${basePort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      return new RedisProcess(port, [file, '--sentinel'], this.#folder.dir);
    });
  }

  get url(): string {
    return this.sentinels.map((sentinel) => `redis://127.0.0.1:${sentinel.port}`).join(',');
  }

  get env(): Record<string, string> {
    return { REDIS_MODE: 'sentinel', REDIS_URL: this.url, REDIS_SENTINEL_MASTER: SENTINEL_MASTER };
  }

  /** The port the sentinels name as master now. */
  masterPort(): number {
    const reply = redisCli(['-p', String(this.sentinels[0]!.port), 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER])
      .trim()
      .split('\n');
    return Number(reply[1]);
  }

  async start(): Promise<this> {
    await this.servers[0]!.start();
    await this.servers[1]!.start();
    await until(
      () => redisCli(['-p', String(this.basePort + 1), 'info', 'replication']).includes('master_link_status:up'),
      30_000,
      'replica in sync',
    );
    await Promise.all(this.sentinels.map((sentinel) => sentinel.start()));
    // Each sentinel must know the replica and the other sentinels before a failover can happen.
    const knowsAll = (port: number): boolean => {
      const fields = redisCli(['-p', String(port), 'sentinel', 'master', SENTINEL_MASTER]);
      return /num-other-sentinels\n2\n/.test(fields) && /num-slaves\n1\n/.test(fields);
    };
    await until(() => this.sentinels.every((s) => knowsAll(s.port)), 30_000, 'sentinels to find each other and the replica');
    return this;
  }

  /** SIGKILLs the current master; returns its port. */
  async killMaster(): Promise<number> {
    const port = this.masterPort();
    await this.servers.find((server) => server.port === port)!.kill('SIGKILL');
    return port;
  }

  /** SIGSTOPs the current master (it stops answering; its sockets stay open); returns its port. */
  pauseMaster(): number {
    const port = this.masterPort();
    this.servers.find((server) => server.port === port)!.signal('SIGSTOP');
    return port;
  }

  async stop(): Promise<void> {
    for (const server of this.servers) server.signal('SIGCONT');
    await Promise.all([...this.sentinels, ...this.servers].map((server) => server.kill()));
    this.#folder.remove();
  }
}
