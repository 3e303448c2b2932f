/**
 * `npm run quantize -- <model> [--version V] [--mode dynamic|static] [--activations uint8|int8]
 *   [--calibration random|text-lines|<dir>] [--as N] [--repository models] [--quantize-output-layer] [--force]`
 *
 * Writes an int8 version of a model into the repository (weights, config entry with the
 * original's price), then measures and saves the trade-off next to it, and says how a
 * running gateway comes to serve it (MODEL_CONTROL). A version that would repeat an existing
 * one (same source version and settings) is refused, exit status 2, unless --force.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { modelControlFromEnvironment, type SharedConfig } from '../../workers/config.js';
import { readModelDefinition } from '../../workers/repository/load-repository.js';
import { defaultVersion, servedVersions, type ModelConfig } from '../../workers/repository/model-config.js';
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
  /** Writes a version even when an existing one has the same source and settings. */
  readonly force?: boolean;
}

/** The new version would repeat an existing one: exit status 2. */
export class DuplicateVersionError extends QuantizeError {}

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
      force: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1)
    throw new QuantizeError(
      'name one model: npm run quantize -- <model> [--version V] [--mode dynamic|static] [--calibration random|text-lines|<dir>]',
    );
  if (values.mode !== 'dynamic' && values.mode !== 'static') throw new QuantizeError(`--mode is dynamic or static, not "${values.mode}"`);
  for (const [flag, value] of [
    ['--version', values.version],
    ['--as', values.as],
  ] as const) {
    if (value !== undefined && !/^[1-9][0-9]*$/.test(value)) throw new QuantizeError(`${flag} is a version number, not "${value}"`);
  }
  return {
    repository: resolve(values.repository),
    model: positionals[0]!,
    mode: values.mode,
    calibration: values.calibration,
    quantizeOutputLayer: values['quantize-output-layer'],
    force: values.force,
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

type ModelControl = Pick<SharedConfig, 'MODEL_CONTROL' | 'MODEL_CONTROL_POLL_MS'>;

export async function runQuantize(
  command: QuantizeCommand,
  log: (text: string) => void,
  control: ModelControl = { MODEL_CONTROL: 'explicit', MODEL_CONTROL_POLL_MS: 5000 },
): Promise<TradeOffReport> {
  const definition = await readModelDefinition(command.repository, command.model);
  const { config } = definition;
  if (config.platform !== 'onnx') throw new QuantizeError(`${config.name} is a ${config.platform} model: only ONNX models are quantized`);
  const fp32Versions = Object.keys(config.versions)
    .filter((v) => config.versions[v]!.weights.source !== 'quantized')
    .sort((a, b) => Number(b) - Number(a));
  const from = command.version ?? fp32Versions[0];
  if (!from || !fp32Versions.includes(from))
    throw new QuantizeError(`${config.name} has no fp32 version ${from ?? ''} (fp32 versions: ${fp32Versions.join(', ') || 'none'})`);
  const version = command.as ?? String(Math.max(...Object.keys(config.versions).map(Number)) + 1);
  if (version in config.versions && config.versions[version]!.weights.source !== 'quantized')
    throw new QuantizeError(`version ${version} of ${config.name} exists and is not a quantized version: choose another with --as`);
  const twin = command.force ? undefined : sameSettings(config, version, from, command);
  if (twin) {
    const settings = `${command.mode}, calibration ${command.calibration}`;
    throw new DuplicateVersionError(
      `version ${twin} of ${config.name} is already quantized from v${from} with these settings (${settings}): ` +
        `rebuild it with --as ${twin}, change a setting, or write another copy with --force`,
    );
  }

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
  await registerVersion(
    join(definition.dir, 'config.json'),
    version,
    {
      source: 'quantized',
      from_version: from,
      mode: command.mode,
      // Both modes: dynamic mode rounds weights with error feedback from these inputs.
      calibration: command.calibration,
      ...(command.activations ? { activations: command.activations } : {}),
      path: 'model.onnx',
    },
    [defaultVersion(config)!, ...servedVersions(config), version],
  );

  log('measuring the trade-off (both models side by side) ...');
  const report = await tradeOffReport({
    config,
    fromVersion: from,
    version,
    mode: command.mode,
    calibration,
    fp32,
    int8: bytes,
    outcome,
    evaluation: samples.evaluation,
  });
  await writeFile(join(versionDir, 'quantization-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(versionDir, 'quantization-report.md'), reportMarkdown(report));
  log(reportMarkdown(report));
  const served = [...new Set([...servedVersions(config), version])].join(', ');
  log(`wrote ${join(versionDir, 'model.onnx')} and its report; in config.json ${config.name} now serves versions ${served}`);
  log(nextStep(config.name, version, control));
  if (command.mode === 'dynamic' && config.max_batch_size > 0)
    log(
      "note: dynamic mode scales activations by the range of the whole batch, so with dynamic batching a row's answer " +
        'depends on the requests batched with it; --mode static fixes the scales (docs/quantization.md)',
    );
  return report;
}

/** How a running gateway comes to serve the new version, in the mode it runs in. */
function nextStep(model: string, version: string, control: ModelControl): string {
  if (control.MODEL_CONTROL === 'poll') {
    const seconds = (2 * control.MODEL_CONTROL_POLL_MS) / 1000;
    return `MODEL_CONTROL=poll: gateways and workers on this repository load v${version} within about ${seconds} s (two polls) and serve it once warm; nothing to do`;
  }
  return [
    `a running gateway serves v${version} once it loads ${model} again (explicit model control); as an admin:`,
    `  curl -X POST -H "Authorization: Bearer <admin key>" http://localhost:8080/v2/repository/models/${model}/load`,
    'in distributed mode, restart the workers of its pool instead; with MODEL_CONTROL=poll, gateways and workers pick new versions up themselves',
  ].join('\n');
}

/** An existing quantized version (other than the one being written) made from the same version with the same settings. */
function sameSettings(config: ModelConfig, version: string, from: string, command: QuantizeCommand): string | undefined {
  // The output-layer choice is not recorded in config.json, so such a run is never a repeat.
  if (command.quantizeOutputLayer) return undefined;
  const activations = command.mode === 'static' ? (command.activations ?? 'uint8') : undefined;
  return Object.keys(config.versions).find((candidate) => {
    const weights = config.versions[candidate]!.weights;
    if (candidate === version || weights.source !== 'quantized') return false;
    const recorded = weights.mode === 'static' ? (weights.activations ?? 'uint8') : undefined;
    return (
      weights.from_version === from &&
      weights.mode === command.mode &&
      weights.calibration === command.calibration &&
      recorded === activations
    );
  });
}

/** Adds the version to config.json and keeps every version served so far in service. */
async function registerVersion(file: string, version: string, weights: Record<string, unknown>, served: string[]): Promise<void> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as {
    versions: Record<string, unknown>;
    version_policy?: unknown;
    default_version?: string;
  };
  raw.versions[version] = { weights };
  // Requests that name no version keep getting the version they got before.
  raw.default_version ??= served[0];
  if (!(raw.version_policy && typeof raw.version_policy === 'object' && 'all' in raw.version_policy)) {
    raw.version_policy = { specific: { versions: [...new Set(served)].map(Number).sort((a, b) => a - b) } };
  }
  await writeFile(file, `${JSON.stringify(raw, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  Promise.resolve()
    .then(() => runQuantize(parseQuantizeArgs(process.argv.slice(2)), (text) => console.log(text), modelControlFromEnvironment()))
    .catch((error: unknown) => {
      console.error(`quantize: ${(error as Error).message}`);
      process.exit(error instanceof DuplicateVersionError ? 2 : 1);
    });
}
