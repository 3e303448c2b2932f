import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const PROJECT_MODELS = resolve(import.meta.dirname, '../../models');

/** A throw-away model repository; `add` writes a model folder, `copy` brings one from models/. */
export class TestRepository {
  readonly dir = mkdtempSync(join(tmpdir(), 'switchyard-models-'));

  add(name: string, config: Record<string, unknown>, files: Record<string, Uint8Array | string> = {}): this {
    const modelDir = join(this.dir, name);
    mkdirSync(modelDir, { recursive: true });
    writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ name, ...config }, null, 2));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(modelDir, path)), { recursive: true });
      writeFileSync(join(modelDir, path), content);
    }
    return this;
  }

  /**
   * Copies a project model (built weights included), optionally overriding config fields.
   * Its int8 versions are left out unless `withQuantized`: tests of serving behaviour see
   * the fp32 model alone, as they did before quantized versions shipped. Its `tuned` blocks are left
   * out too (unless overridden): a test sets serving settings through the config, and a block
   * measured on a machine like the one running the test would replace them.
   */
  copy(name: string, overrides: Record<string, unknown> = {}, withQuantized = false): this {
    cpSync(join(PROJECT_MODELS, name), join(this.dir, name), { recursive: true });
    const path = join(this.dir, name, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as { versions: Record<string, { weights: { source: string } }> } & Record<
      string,
      unknown
    >;
    if (!withQuantized) {
      const quantized = Object.keys(config.versions).filter((version) => config.versions[version]!.weights.source === 'quantized');
      for (const version of quantized) {
        delete config.versions[version];
        rmSync(join(this.dir, name, version), { recursive: true, force: true });
      }
      if (quantized.length > 0) {
        delete config.default_version;
        config.version_policy = { latest: { num_versions: 1 } };
      }
    }
    delete config.tuned;
    writeFileSync(path, JSON.stringify({ ...config, ...overrides }, null, 2));
    return this;
  }

  /** Writes a pipeline folder (pipeline.json). */
  addPipeline(name: string, config: Record<string, unknown>): this {
    mkdirSync(join(this.dir, name), { recursive: true });
    writeFileSync(join(this.dir, name, 'pipeline.json'), JSON.stringify({ name, ...config }, null, 2));
    return this;
  }

  /** Copies a project pipeline folder as it is. */
  copyPipeline(name: string): this {
    cpSync(join(PROJECT_MODELS, name), join(this.dir, name), { recursive: true });
    return this;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
