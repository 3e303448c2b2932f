/**
 * `npm run quantize -- <model> [--version V] [--mode dynamic|static] [--activations uint8|int8]
 *   [--calibration random|text-lines|<dir>] [--as N] [--repository models] [--quantize-output-layer]`
 *
 * Writes an int8 version of a model into the repository (weights, config entry with the
 * original's price), then measures and saves the trade-off next to it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readModelDefinition } from '../../workers/repository/load-repository.js';
import { defaultVersion, servedVersions } from '../../workers/repository/model-config.js';
import { resolveWeights } from '../../workers/repository/resolve-weights.js';
import { parseCalibrationSource, sampleSets } from './calibration-inputs.js';
import { quantizeModel, type QuantizeMode } from './quantize-model.js';
import { QuantizeError } from './quantize-plan.js';
import { reportMarkdown, tradeOffReport, type TradeOffReport } from './trade-off-report.js';

export interface QuantizeCommand {
  readonly repository: string;
  readonly model: string;
  readonly version?: string;
  readonly mode: QuantizeMode;
  readonly calibration: string;
  readonly as?: string;
  readonly quantizeOutputLayer: boolean;
  /** Static mode's activation type. */
  readonly activations?: 'int8' | 'uint8';
}

export function parseQuantizeArgs(argv: readonly string[]): QuantizeCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      version: { type: 'string' },
      mode: { type: 'string', default: 'dynamic' },
      calibration: { type: 'string', default: 'random' },
      as: { type: 'string' },
      repository: { type: 'string', default: 'models' },
      'quantize-output-layer': { type: 'boolean', default: false },
      activations: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new QuantizeError('name one model: npm run quantize -- <model> [--version V] [--mode dynamic|static] [--calibration random|text-lines|<dir>]');
  if (values.mode !== 'dynamic' && values.mode !== 'static') throw new QuantizeError(`--mode is dynamic or static, not "${values.mode}"`);
  for (const [flag, value] of [['--version', values.version], ['--as', values.as]] as const) {
    if (value !== undefined && !/^[1-9][0-9]*$/.test(value)) throw new QuantizeError(`${flag} is a version number, not "${value}"`);
  }
  return {
    repository: resolve(values.repository),
    model: positionals[0]!,
    mode: values.mode,
    calibration: values.calibration,
    quantizeOutputLayer: values['quantize-output-layer'],
    ...(values.activations !== undefined ? { activations: activationsOption(values.activations, values.mode) } : {}),
    ...(values.version !== undefined ? { version: values.version } : {}),
    ...(values.as !== undefined ? { as: values.as } : {}),
  };
}

function activationsOption(value: string, mode: string): 'int8' | 'uint8' {
  if (mode !== 'static') throw new QuantizeError('--activations applies to --mode static');
  if (value !== 'int8' && value !== 'uint8') throw new QuantizeError(`--activations is int8 or uint8, not "${value}"`);
  return value;
}

export async function runQuantize(command: QuantizeCommand, log: (text: string) => void): Promise<TradeOffReport> {
  const definition = await readModelDefinition(command.repository, command.model);
  const { config } = definition;
  if (config.platform !== 'onnx') throw new QuantizeError(`${config.name} is a ${config.platform} model: only ONNX models are quantized`);
  const fp32Versions = Object.keys(config.versions).filter((v) => config.versions[v]!.weights.source !== 'quantized').sort((a, b) => Number(b) - Number(a));
  const from = command.version ?? fp32Versions[0];
  if (!from || !fp32Versions.includes(from)) throw new QuantizeError(`${config.name} has no fp32 version ${from ?? ''} (fp32 versions: ${fp32Versions.join(', ') || 'none'})`);
  const version = command.as ?? String(Math.max(...Object.keys(config.versions).map(Number)) + 1);
  if (version in config.versions && config.versions[version]!.weights.source !== 'quantized') throw new QuantizeError(`version ${version} of ${config.name} exists and is not a quantized version: choose another with --as`);

  const calibration = parseCalibrationSource(command.calibration);
  const samples = await sampleSets(config, calibration);
  const fp32 = await readFile(resolveWeights(definition, from));
  log(`quantizing ${config.name} v${from} (${command.mode}, calibration ${command.calibration}) ...`);
  const started = performance.now();
  const { bytes, outcome } = await quantizeModel(fp32, {
    mode: command.mode,
    calibration: samples.calibration,
    quantizeOutputLayer: command.quantizeOutputLayer,
    ...(command.activations ? { activations: command.activations } : {}),
  });
  log(`quantized in ${((performance.now() - started) / 1000).toFixed(1)} s (${samples.calibration.length} calibration samples)`);

  const versionDir = join(definition.dir, version);
  await mkdir(versionDir, { recursive: true });
  await writeFile(join(versionDir, 'model.onnx'), bytes);
  await registerVersion(join(definition.dir, 'config.json'), version, {
    source: 'quantized',
    from_version: from,
    mode: command.mode,
    // Both modes: dynamic mode rounds weights with error feedback from these inputs.
    calibration: command.calibration,
    ...(command.activations ? { activations: command.activations } : {}),
    path: 'model.onnx',
  }, [defaultVersion(config)!, ...servedVersions(config), version]);

  log('measuring the trade-off (both models side by side) ...');
  const report = await tradeOffReport({ config, fromVersion: from, version, mode: command.mode, calibration, fp32, int8: bytes, outcome, evaluation: samples.evaluation });
  await writeFile(join(versionDir, 'quantization-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(versionDir, 'quantization-report.md'), reportMarkdown(report));
  log(reportMarkdown(report));
  log(`wrote ${join(versionDir, 'model.onnx')} and its report; ${config.name} now serves versions ${[...new Set([...servedVersions(config), version])].join(', ')}`);
  return report;
}

/** Adds the version to config.json and keeps every version served so far in service. */
async function registerVersion(file: string, version: string, weights: Record<string, unknown>, served: string[]): Promise<void> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as { versions: Record<string, unknown>; version_policy?: unknown; default_version?: string };
  raw.versions[version] = { weights };
  // Requests that name no version keep getting the version they got before.
  raw.default_version ??= served[0];
  if (!(raw.version_policy && typeof raw.version_policy === 'object' && 'all' in raw.version_policy)) {
    raw.version_policy = { specific: { versions: [...new Set(served)].map(Number).sort((a, b) => a - b) } };
  }
  await writeFile(file, `${JSON.stringify(raw, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  runQuantize(parseQuantizeArgs(process.argv.slice(2)), (text) => console.log(text)).catch((error: unknown) => {
    console.error(`quantize: ${(error as Error).message}`);
    process.exit(1);
  });
}
