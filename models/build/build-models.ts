/**
 * Writes every weights file the repository declares as `"source": "build"` or
 * `"source": "quantized"` and that is missing. Runs before `npm start` and `npm test`;
 * builders and the quantizer are deterministic.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadRepository, type ModelDefinition } from '../../workers/repository/load-repository.js';
import { resolveWeights } from '../../workers/repository/resolve-weights.js';
import { parseCalibrationSource, sampleSets } from '../quantize/calibration-inputs.js';
import { quantizeModel } from '../quantize/quantize-model.js';
import { buildQuadrantImage, buildSparseLinear } from './explain-demos.js';
import { DEMO_MLP, buildMlp } from './mlp.js';

const BUILDERS: Record<string, () => Uint8Array> = {
  'mlp-512-1024-1024-10': () => buildMlp(DEMO_MLP),
  'sparse-linear-64': buildSparseLinear,
  'quadrant-image-32': buildQuadrantImage,
};

export async function buildMissingModels(repository: string, log: (line: string) => void): Promise<number> {
  let built = 0;
  const models = await loadRepository(repository);
  // Built weights first: quantized versions are made from them.
  for (const pass of ['build', 'quantized'] as const) {
    for (const model of models) {
      for (const [version, { weights }] of Object.entries(model.config.versions)) {
        if (weights.source !== pass) continue;
        const target = join(model.dir, version, weights.path);
        if (existsSync(target)) continue;
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, weights.source === 'build' ? buildWith(model, weights.builder) : await quantizedFrom(model, version));
        log(`built ${target}`);
        built += 1;
      }
    }
  }
  return built;
}

function buildWith(model: ModelDefinition, builder: string): Uint8Array {
  const build = BUILDERS[builder];
  if (!build) throw new Error(`${model.name}: unknown builder "${builder}" (known: ${Object.keys(BUILDERS).join(', ')})`);
  return build();
}

async function quantizedFrom(model: ModelDefinition, version: string): Promise<Uint8Array> {
  const weights = model.config.versions[version]!.weights;
  if (weights.source !== 'quantized') throw new Error(`${model.name} v${version} is not a quantized version`);
  const fp32 = await readFile(resolveWeights(model, weights.from_version));
  const calibration = weights.calibration
    ? parseCalibrationSource(weights.calibration.startsWith('.') ? join(model.dir, weights.calibration) : weights.calibration)
    : undefined;
  // Dynamic versions declaring calibration get error-feedback rounding; without, round-to-nearest.
  const samples = calibration ? (await sampleSets(model.config, calibration)).calibration : undefined;
  const { bytes } = await quantizeModel(fp32, {
    mode: weights.mode,
    ...(samples ? { calibration: samples } : {}),
    ...(weights.activations ? { activations: weights.activations } : {}),
  });
  return bytes;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const repository = resolve(process.argv[2] ?? 'models');
  buildMissingModels(repository, (line) => console.log(line)).catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
