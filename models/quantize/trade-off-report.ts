import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import type { CalibrationSource, Sample } from './calibration-inputs.js';
import { measureAccuracy, type AccuracyFigure } from './measure-accuracy.js';
import { measureSpeed, stackRows, type SpeedFigure } from './measure-speed.js';
import { WEIGHT_LIMIT } from './int8-weights.js';
import type { QuantizeMode } from './quantize-model.js';
import type { QuantizeOutcome } from './quantize-plan.js';

export interface TradeOffReport {
  readonly model: string;
  readonly from_version: string;
  readonly version: string;
  readonly mode: QuantizeMode;
  readonly calibration: string;
  readonly measured_at: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly load_average: number;
    readonly node: string;
    readonly onnxruntime_node: string;
  };
  readonly size: { readonly fp32_bytes: number; readonly int8_bytes: number; readonly ratio: number };
  /** The integer levels the int8 weights use, and why not the full [-127, 127]. */
  readonly weights: { readonly range: readonly [number, number]; readonly why: string };
  readonly speed: readonly SpeedFigure[];
  readonly accuracy: AccuracyFigure;
  readonly quantized: QuantizeOutcome['quantized'];
  readonly left_in_fp32: QuantizeOutcome['leftInFp32'];
  readonly error_feedback: readonly string[];
}

export interface ReportInput {
  readonly config: ModelConfig;
  readonly fromVersion: string;
  readonly version: string;
  readonly mode: QuantizeMode;
  readonly calibration: CalibrationSource;
  readonly fp32: Uint8Array;
  readonly int8: Uint8Array;
  readonly outcome: QuantizeOutcome;
  readonly evaluation: readonly Sample[];
}

/** Measures the trade-off in one run, both models side by side on this machine. */
export async function tradeOffReport(input: ReportInput): Promise<TradeOffReport> {
  // As Switchyard runs an instance: every core, full graph optimization, no spinning.
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const fp32 = await ort.InferenceSession.create(input.fp32, options);
  const int8 = await ort.InferenceSession.create(input.int8, options);
  try {
    // Batch 32 whatever the serving config's max_batch_size: the figure is the model's.
    const batches = input.config.max_batch_size > 0 ? [1, 32] : [1];
    const speed: SpeedFigure[] = [];
    for (const batch of batches)
      speed.push(
        await measureSpeed(
          fp32,
          int8,
          input.config.max_batch_size > 0 ? stackRows(input.evaluation, batch) : input.evaluation[0]!.feed,
          batch,
        ),
      );
    const accuracy = await measureAccuracy(fp32, int8, input.evaluation);
    return {
      model: input.config.name,
      from_version: input.fromVersion,
      version: input.version,
      mode: input.mode,
      calibration: typeof input.calibration === 'string' ? input.calibration : input.calibration.dir,
      measured_at: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: availableParallelism(),
        load_average: Math.round(loadavg()[0]! * 100) / 100,
        node: process.version,
        onnxruntime_node: (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version,
      },
      size: {
        fp32_bytes: input.fp32.byteLength,
        int8_bytes: input.int8.byteLength,
        ratio: Math.round((input.fp32.byteLength / input.int8.byteLength) * 100) / 100,
      },
      weights: { range: [-WEIGHT_LIMIT, WEIGHT_LIMIT], why: WEIGHT_RANGE_WHY },
      speed,
      accuracy,
      quantized: input.outcome.quantized,
      left_in_fp32: input.outcome.leftInFp32,
      error_feedback: input.outcome.errorFeedback ?? [],
    };
  } finally {
    await fp32.release();
    await int8.release();
  }
}

const WEIGHT_RANGE_WHY =
  'x86 CPUs without VNNI (AVX2, early AVX-512) add each pair of uint8 x int8 products into a saturating int16 (vpmaddubsw): ' +
  `2 x 255 x ${WEIGHT_LIMIT} fits, 2 x 255 x 127 does not, so every CPU it may be served on computes the same unsaturated sums`;

const percent = (value: number): string => `${(value * 100).toFixed(2)} %`;

export function reportMarkdown(report: TradeOffReport): string {
  const accuracy = report.accuracy;
  const accuracyLine =
    accuracy.metric === 'top-1 agreement'
      ? `top-1 agreement with fp32: **${percent(accuracy.value)}** over ${accuracy.samples} held-out rows (max abs error ${accuracy.max_abs_error.toExponential(2)})`
      : accuracy.metric === 'character error rate'
        ? `character error rate: fp32 ${percent(accuracy.fp32)}, int8 ${percent(accuracy.int8)}: **${accuracy.rise_points >= 0 ? '+' : ''}${accuracy.rise_points.toFixed(2)} points** over ${accuracy.samples} held-out rendered lines`
        : `max abs error against fp32: **${accuracy.value.toExponential(2)}** over ${accuracy.samples} held-out inputs`;
  return [
    `# ${report.model} v${report.version}: int8 (${report.mode}) from v${report.from_version}`,
    '',
    `${report.measured_at} · ${report.machine.cpu} · ${report.machine.cores} cores · load ${report.machine.load_average} · Node ${report.machine.node} · onnxruntime-node ${report.machine.onnxruntime_node} · calibration: ${report.calibration}`,
    '',
    '| figure | fp32 | int8 | fp32 / int8 |',
    '| --- | ---: | ---: | ---: |',
    `| file size (bytes) | ${report.size.fp32_bytes} | ${report.size.int8_bytes} | **${report.size.ratio}×** |`,
    ...report.speed.map(
      (figure) => `| ms per run, batch ${figure.batch} (median) | ${figure.fp32_ms} | ${figure.int8_ms} | **${figure.ratio}×** |`,
    ),
    '',
    `Accuracy: ${accuracyLine}.`,
    '',
    `Weights: int8 levels within [${report.weights.range[0]}, ${report.weights.range[1]}] (7 bits): ${report.weights.why}.`,
    '',
    `Quantized: ${Object.entries(report.quantized)
      .map(([op, count]) => `${count} ${op}`)
      .join(', ')}.` +
      (report.left_in_fp32.length > 0
        ? ` Left in fp32: ${report.left_in_fp32.map((entry) => `${entry.node} (${entry.op}: ${entry.reason})`).join('; ')}.`
        : '') +
      (report.error_feedback.length > 0
        ? ` Weights rounded with error feedback (calibrated): ${report.error_feedback.join(', ')}${Object.values(report.quantized).reduce((a, b) => a + b, 0) > report.error_feedback.length ? '; the others to nearest' : ''}.`
        : ''),
    '',
  ].join('\n');
}
