/**
 * `npm run tune -- <model> [--version V] [--latency-budget-ms N] [--write] [--concurrency N]
 *   [--seconds S] [--max-configs N] [--time-budget-s S] [--quick] [--repository DIR]`
 *
 * Finds the serving configuration with the highest throughput within a p95 latency budget on
 * this machine, writes tuning-report.{json,md} beside the model and, with --write, records the
 * choice in its config.json as a `tuned` block for this machine's hardware key.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseEnvironment, sharedEnvironment } from '../config.js';
import { ModelConfigError } from '../repository/load-repository.js';
import { consoleTable, reportJson, reportMarkdown, tunedBlock } from './tuning-report.js';
import { tuneModel, UnknownVersionError, type TuneOptions, type TuneResult } from './tune-model.js';
import { writeTunedBlock } from './write-tuned.js';

export class TuneUsageError extends Error {
  override name = 'TuneUsageError';
}

export interface TuneCommand extends Omit<TuneOptions, 'onTrial' | 'hardware'> {
  readonly write: boolean;
}

const USAGE =
  'npm run tune -- <model> [--version V] [--latency-budget-ms N] [--write] [--concurrency N] [--seconds S] [--max-configs N] [--quick]';

/** Requests in flight at once: each is a client of its own, holding its tensors. */
const MAX_CONCURRENCY = 4096;

function positiveNumber(flag: string, value: string | undefined, fallback: number, max = Number.POSITIVE_INFINITY): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new TuneUsageError(`${flag} is a positive number, not "${value}"`);
  if (number > max) throw new TuneUsageError(`${flag} is at most ${max}, not "${value}"`);
  return number;
}

const OPTIONS = {
  version: { type: 'string' },
  'latency-budget-ms': { type: 'string' },
  write: { type: 'boolean', default: false },
  concurrency: { type: 'string' },
  seconds: { type: 'string' },
  'max-configs': { type: 'string' },
  'time-budget-s': { type: 'string' },
  quick: { type: 'boolean', default: false },
  repository: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

function parsedArgs(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new TuneUsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

/** `--help`: the usage, and nothing run. */
export class TuneHelp extends Error {
  override name = 'TuneHelp';
  constructor() {
    super(USAGE);
  }
}

export function parseTuneArgs(argv: readonly string[], environment: Readonly<Record<string, string | undefined>>): TuneCommand {
  const { values, positionals } = parsedArgs(argv);
  if (values.help) throw new TuneHelp();
  if (positionals.length !== 1) throw new TuneUsageError(`name one model: ${USAGE}`);
  // A model is a folder of the repository, named as the repository names them: never a path.
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(positionals[0]!))
    throw new TuneUsageError(`"${positionals[0]}" is not a model name (letters, digits, . _ - only)`);
  if (values.version !== undefined && !/^[1-9][0-9]*$/.test(values.version))
    throw new TuneUsageError(`--version is a version number, not "${values.version}"`);
  const shared = parseEnvironment(sharedEnvironment, environment);
  // --quick: a handful of short measurements, to check the tool and a model work, not to tune.
  const quick = values.quick;
  const measureS = positiveNumber('--seconds', values.seconds, quick ? 1 : 3);
  const latencyBudget = values['latency-budget-ms'];
  return {
    repository: values.repository !== undefined ? resolve(values.repository) : shared.MODEL_REPOSITORY,
    model: positionals[0]!,
    ...(values.version !== undefined ? { version: values.version } : {}),
    ...(latencyBudget !== undefined ? { latencyBudgetMs: positiveNumber('--latency-budget-ms', latencyBudget, 0) } : {}),
    concurrency: Math.round(positiveNumber('--concurrency', values.concurrency, 16, MAX_CONCURRENCY)),
    rampMs: Math.min(500, measureS * 250),
    measureMs: measureS * 1000,
    maxConfigs: Math.round(positiveNumber('--max-configs', values['max-configs'], quick ? 4 : Number.POSITIVE_INFINITY)),
    timeBudgetMs: positiveNumber('--time-budget-s', values['time-budget-s'], 150) * 1000,
    cpuCount: shared.CPU_COUNT,
    write: values.write,
  };
}

/** Tunes, prints the table, writes the reports (and the config with --write); returns what was found. */
export async function runTune(command: TuneCommand, log: (text: string) => void): Promise<TuneResult> {
  log(`tuning ${command.model} (${command.concurrency} in flight, ${command.measureMs / 1000} s per configuration)...`);
  const result = await tuneModel({
    ...command,
    onTrial: (trial) => {
      const m = trial.measured;
      const c = trial.candidate;
      const preferred = c.preferredBatchSizes.length ? ` pref [${c.preferredBatchSizes.join(',')}]` : '';
      const what = `${c.instanceCount}x${c.intraOpThreads} batch ${c.maxBatchSize} delay ${c.maxQueueDelayMs}${preferred}`;
      const early = m?.stoppedEarly ? ` (stopped early: ${m.stoppedEarly})` : '';
      log(
        `  ${trial.stage}: ${what}: ${m ? `${m.throughput.toFixed(1)} req/s, p95 ${m.p95Ms.toFixed(1)} ms${early}` : `failed: ${trial.error}`}`,
      );
    },
  });
  const date = new Date().toISOString();
  log('');
  log(consoleTable(result));
  const dir = result.definition.dir;
  // A run that measured nothing leaves the reports of the last one that did.
  if (!result.chosen)
    throw new TuneUsageError(`no configuration could be measured: nothing chosen; ${join(dir, 'tuning-report.md')} is left as it was`);
  await writeFile(join(dir, 'tuning-report.json'), `${JSON.stringify(reportJson(result, date), null, 2)}\n`);
  await writeFile(join(dir, 'tuning-report.md'), reportMarkdown(result, date));
  log(`\nreports: ${join(dir, 'tuning-report.md')} and tuning-report.json`);
  if (command.write) {
    await writeTunedBlock(dir, result.hardwareKey, result.version, tunedBlock(result, date));
    log(`recorded in ${join(dir, 'config.json')} under tuned["${result.hardwareKey}"]["${result.version}"]`);
  } else {
    log("run again with --write to record the choice in the model's config.json");
  }
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  try {
    const command = parseTuneArgs(process.argv.slice(2), process.env);
    await runTune(command, (text) => console.log(text));
  } catch (error) {
    if (error instanceof TuneHelp) console.log(error.message);
    else {
      const known = error instanceof TuneUsageError || error instanceof ModelConfigError || error instanceof UnknownVersionError;
      console.error(known ? error.message : ((error as Error).stack ?? String(error)));
      process.exitCode = 1;
    }
  }
}
