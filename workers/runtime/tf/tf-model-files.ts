import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { io } from '@tensorflow/tfjs';

interface ModelJson {
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly modelTopology?: object;
  readonly trainingConfig?: io.TrainingConfig;
  readonly userDefinedMetadata?: { [key: string]: NonNullable<unknown> };
  readonly signature?: object;
  readonly modelInitializer?: object;
  readonly weightsManifest?: io.WeightsManifestConfig;
}

/**
 * An IO handler that reads a TF.js model from disk: model.json plus the weight shards it
 * lists, concatenated in manifest order. tfjs's file:// loader only exists in tfjs-node,
 * so the WASM backend needs this one (it serves graph and layers models alike).
 */
export function modelFilesHandler(modelJsonPath: string): io.IOHandler {
  if (modelJsonPath.endsWith('.js')) return bundledModelHandler(modelJsonPath);
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const json = await readJson(modelJsonPath);
      if (!json.modelTopology) throw new Error(`${modelJsonPath} has no modelTopology: is it a TF.js model.json?`);
      const manifest = json.weightsManifest ?? [];
      const folder = dirname(modelJsonPath);
      const shards = await Promise.all(manifest.flatMap((group) => group.paths.map((path) => readFile(join(folder, path)))));
      const weights = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? null,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata,
        signature: json.signature,
        modelInitializer: json.modelInitializer,
        weightSpecs: manifest.flatMap((group) => group.weights),
        // A copy that owns its buffer: tfjs reads weightData from offset 0.
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      };
    },
  };
}

async function readJson(path: string): Promise<ModelJson> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`model file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text) as ModelJson;
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * A TF.js model bundled as CommonJS modules, as nsfwjs ships its models so bundlers can
 * inline them: `<model>.js` exports the model.json object, and each weight shard listed in
 * its manifest is `<shard>.min.js` beside it, exporting the shard's bytes as base64.
 */
function bundledModelHandler(modulePath: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const load = createRequire(modulePath);
      const json = load(modulePath) as ModelJson;
      if (!json.modelTopology) throw new Error(`${modulePath} exports no modelTopology: is it a bundled TF.js model?`);
      const manifest = json.weightsManifest ?? [];
      const folder = dirname(modulePath);
      const shards = manifest.flatMap((group) =>
        group.paths.map((path) => {
          const base64: unknown = load(join(folder, `${path}.min.js`));
          if (typeof base64 !== 'string') throw new Error(`weight shard ${path}.min.js beside ${modulePath} does not export base64 text`);
          return Buffer.from(base64, 'base64');
        }),
      );
      const weights = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? null,
        weightSpecs: manifest.flatMap((group) => group.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      };
    },
  };
}
