import { Redis } from 'ioredis';
import { round } from './stats.js';

/** What one redis-server did between two readings: calls per command and its own CPU. */
export interface ServerWork {
  /** Calls per command name (lower case), from INFO commandstats; the probe's own INFO/CONFIG left out. */
  readonly calls: Record<string, number>;
  /** Microseconds spent inside each command, from INFO commandstats (scripts include what they call). */
  readonly usec: Record<string, number>;
  /** used_cpu_sys + used_cpu_user of the server process, seconds (network, parsing and scripts all in). */
  readonly cpuSeconds: number;
  /** used_cpu_user alone: Redis's own code, without the kernel's share. */
  readonly cpuUserSeconds: number;
  /** Socket reads and writes the server made (INFO stats total_reads_processed, total_writes_processed). */
  readonly reads: number;
  readonly writes: number;
}

/** The bench's own commands, left out of the counts. */
const OWN = new Set(['info', 'config', 'cluster', 'ping', 'client', 'hello']);

/**
 * Reads one redis-server's work. The counters are reset with CONFIG RESETSTAT before a run;
 * the CPU counters are never reset, so `begin` reads them and `end` subtracts.
 */
export class ServerStats {
  readonly #redis: Redis;
  #cpuAtBegin = 0;
  #userAtBegin = 0;

  constructor(url: string) {
    this.#redis = new Redis(url, { connectionName: 'switchyard-bench-stats', maxRetriesPerRequest: 1, lazyConnect: true });
    this.#redis.on('error', () => undefined);
  }

  async begin(): Promise<void> {
    await this.#redis.config('RESETSTAT');
    const info = await this.#redis.info('cpu');
    this.#cpuAtBegin = cpuSeconds(info);
    this.#userAtBegin = cpuField(info, 'used_cpu_user');
  }

  async end(): Promise<ServerWork> {
    const info = await this.#redis.info('cpu');
    const cpu = cpuSeconds(info) - this.#cpuAtBegin;
    const user = cpuField(info, 'used_cpu_user') - this.#userAtBegin;
    const calls: Record<string, number> = {};
    const usec: Record<string, number> = {};
    for (const match of (await this.#redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const name = match[1]!.toLowerCase();
      if (OWN.has(name)) continue;
      calls[name] = Number(match[2]);
      usec[name] = Number(match[3]);
    }
    const stats = await this.#redis.info('stats');
    const counter = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
    return {
      calls,
      usec,
      cpuSeconds: round(cpu, 4),
      cpuUserSeconds: round(user, 4),
      reads: counter('total_reads_processed'),
      writes: counter('total_writes_processed'),
    };
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

function cpuField(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
}

function cpuSeconds(info: string): number {
  return cpuField(info, 'used_cpu_sys') + cpuField(info, 'used_cpu_user');
}

/** Work per answered request: commands, scripts, CPU microseconds, and the commands that dominate. */
export interface WorkPerRequest {
  readonly requests: number;
  readonly commands: number;
  readonly scripts: number;
  readonly cpuMicros: number;
  /** Socket reads and writes of the server (the probe's own few included). */
  readonly reads: number;
  readonly writes: number;
  /** Microseconds inside EVALSHA/EVAL (commandstats' own timing, excluding network and parsing). */
  readonly scriptMicros: number;
  /** Calls per request by command, largest first. */
  readonly byCommand: Record<string, number>;
  /** Microseconds per request inside each command (commandstats; a script's include the commands it calls, which count again under their own names). */
  readonly microsByCommand: Record<string, number>;
}

export function perRequest(work: ServerWork, requests: number): WorkPerRequest {
  const n = Math.max(1, requests);
  const sum = (values: Record<string, number>, keep: (name: string) => boolean = () => true): number =>
    Object.entries(values).reduce((total, [name, value]) => total + (keep(name) ? value : 0), 0);
  const isScript = (name: string): boolean => name === 'evalsha' || name === 'eval' || name === 'evalsha_ro' || name === 'fcall';
  const byCommand = Object.fromEntries(
    Object.entries(work.calls)
      .sort(([, a], [, b]) => b - a)
      .map(([name, calls]) => [name, round(calls / n, 2)]),
  );
  return {
    requests,
    commands: round(sum(work.calls) / n, 2),
    scripts: round(sum(work.calls, isScript) / n, 2),
    cpuMicros: round((work.cpuSeconds * 1e6) / n, 1),
    reads: round(work.reads / n, 2),
    writes: round(work.writes / n, 2),
    scriptMicros: round(sum(work.usec, isScript) / n, 1),
    byCommand,
    microsByCommand: Object.fromEntries(
      Object.entries(work.usec)
        .sort(([, a], [, b]) => b - a)
        .map(([name, usec]) => [name, round(usec / n, 1)]),
    ),
  };
}
