import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { findOnPath } from '../metrics/gpu-metrics.js';
import type { ModelConfig } from '../repository/model-config.js';

/** What a machine is, as far as serving settings care: the keys `tuned` blocks are filed under. */
export interface Hardware {
  /** `cpu:<CPU model> x<cores the instances may use>`. */
  readonly cpu: string;
  /** `gpu:<name>` per GPU index, as nvidia-smi names them; empty without one. */
  readonly gpus: readonly string[];
}

/** Collapses the runs of spaces some CPUs pad their model names with. */
const tidy = (name: string): string => name.replace(/\s+/g, ' ').trim();

export function cpuKey(model: string, cores: number): string {
  return `cpu:${tidy(model)} x${cores}`;
}

export function gpuKey(name: string): string {
  return `gpu:${tidy(name)}`;
}

let gpuNames: readonly string[] | undefined;

/** GPU names by index, read once per process (nvidia-smi; none where it is missing or fails). */
function detectGpus(): readonly string[] {
  if (gpuNames) return gpuNames;
  const executable = findOnPath('nvidia-smi');
  gpuNames = [];
  if (executable) {
    try {
      const output = execFileSync(executable, ['--query-gpu=name', '--format=csv,noheader'], { timeout: 5_000, encoding: 'utf8' });
      gpuNames = output.split('\n').map(tidy).filter(Boolean);
    } catch {
      // a wedged or driverless nvidia-smi: serve as a CPU machine
    }
  }
  return gpuNames;
}

export function detectHardware(cores: number): Hardware {
  return { cpu: cpuKey(cpus()[0]?.model ?? 'unknown', cores), gpus: detectGpus().map(gpuKey) };
}

/** Whether the model may run on a GPU when one is there ('cuda' also lets TF take tfjs-node-gpu). */
export function mayUseGpu(config: ModelConfig): boolean {
  return config.instance_group.kind !== 'cpu' && config.execution_providers.includes('cuda');
}

/**
 * The hardware keys a model's `tuned` block is looked up by, best first: its GPU's when it may
 * use one, then the CPU's (a GPU node whose runtime lacks CUDA serves on its CPU).
 */
export function hardwareKeys(config: ModelConfig, hardware: Hardware): string[] {
  const gpu = mayUseGpu(config) ? hardware.gpus[config.instance_group.gpus[0] ?? 0] : undefined;
  return gpu ? [gpu, hardware.cpu] : [hardware.cpu];
}

/** The key a measurement is filed under: the GPU's when the instances ran on one. */
export function measuredKey(config: ModelConfig, hardware: Hardware, provider: string): string {
  const onGpu = provider === 'cuda' || provider.includes('gpu');
  const gpu = onGpu ? hardware.gpus[config.instance_group.gpus[0] ?? 0] : undefined;
  return gpu ?? hardware.cpu;
}
