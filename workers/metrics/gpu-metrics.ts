import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './registry.js';

export interface GpuReading {
  readonly gpu: string;
  /** 0 to 1. */
  readonly utilization: number;
  readonly memoryUsedBytes: number;
}

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,utilization.gpu,memory.used', '--format=csv,noheader,nounits'];
/** A scrape must not hang on a wedged driver. */
const NVIDIA_SMI_TIMEOUT_MS = 2_000;

/** Parses `index, utilization %, memory MiB` lines; lines that do not parse ("[N/A]" fields) are skipped. */
export function parseNvidiaSmi(output: string): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length !== 3 || !/^\d+$/.test(fields[0]!)) continue;
    const utilization = Number(fields[1]);
    const memoryMiB = Number(fields[2]);
    if (fields[1] === '' || fields[2] === '' || !Number.isFinite(utilization) || !Number.isFinite(memoryMiB)) continue;
    readings.push({ gpu: fields[0]!, utilization: utilization / 100, memoryUsedBytes: memoryMiB * 1024 * 1024 });
  }
  return readings;
}

/** The executable's path when it is on PATH; looked up once, at start-up. */
export function findOnPath(command: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function query(executable: string): Promise<GpuReading[]> {
  return new Promise((resolve) => {
    execFile(executable, NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS }, (error, stdout) =>
      resolve(error ? [] : parseNvidiaSmi(stdout)),
    );
  });
}

/**
 * GPU utilization and memory, read with nvidia-smi when scraped (one process per scrape,
 * no poller). Where nvidia-smi is not on PATH the families are not registered at all.
 * The label is the GPU index, bounded by the machine.
 */
export function registerGpuMetrics(registry: Registry, executable = findOnPath('nvidia-smi')): boolean {
  if (!executable) return false;
  // Both gauges are collected in one scrape: share one nvidia-smi run between them.
  let reading: Promise<GpuReading[]> | undefined;
  const latest = (): Promise<GpuReading[]> => {
    reading ??= query(executable).finally(() => setTimeout(() => (reading = undefined), 100).unref());
    return reading;
  };
  new Gauge({
    name: `${METRIC_PREFIX}gpu_utilization_ratio`,
    help: 'GPU utilization over the driver sample period, 0 to 1 (nvidia-smi)',
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const gpu of await latest()) this.set({ gpu: gpu.gpu }, gpu.utilization);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}gpu_memory_used_bytes`,
    help: 'GPU memory in use (nvidia-smi)',
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const gpu of await latest()) this.set({ gpu: gpu.gpu }, gpu.memoryUsedBytes);
    },
  });
  return true;
}
