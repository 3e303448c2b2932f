import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { REPO_ROOT } from './settings.js';

export interface MachineInfo {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly availableParallelism: number;
  readonly memoryGb: number;
  readonly platform: string;
  readonly nodeVersion: string;
  readonly onnxruntimeNode: string;
  readonly autocannon: string;
  readonly gitCommit: string;
  /** 1-minute load average when the bench began: the machine is shared, so say how busy it was. */
  readonly loadAverageAtStart: number;
}

function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    availableParallelism: availableParallelism(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    nodeVersion: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    autocannon: packageVersion('autocannon'),
    gitCommit: gitCommit(),
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export function currentLoadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
