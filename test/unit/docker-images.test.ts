import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Dockerfile } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../gateway/policy/policy-config.js';
import { configEnvironmentNames } from '../helpers/environment-names.js';

/**
 * There is no docker engine on our machines: nothing here builds an image. These check what
 * can be checked without one: the Dockerfiles parse, every path they COPY from the build
 * context exists and is not excluded by .dockerignore, stages they copy from are defined,
 * and the properties the images promise (non-root, CUDA bases, install scripts, health checks)
 * are in the files; the compose file parses and uses the chart's images and env names.
 */
const ROOT = join(import.meta.dirname, '../..');
const DOCKER = join(ROOT, 'docker');
const dockerfiles = readdirSync(DOCKER).filter((file) => file.endsWith('.Dockerfile'));
const parse = (file: string): Dockerfile => DockerfileParser.parse(readFileSync(join(DOCKER, file), 'utf8'));
const CONFIG_NAMES = configEnvironmentNames();

/** .dockerignore patterns as regular expressions over context paths (the subset of its syntax we use). */
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .map(
    (pattern) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '(?:.*/)?')
          .replace(/\*/g, '[^/]*')}(?:/.*)?$`,
      ),
  );

/** The instructions of one stage (from its FROM to the next). */
function stage(dockerfile: Dockerfile, name: string) {
  const froms = dockerfile.getFROMs();
  const index = froms.findIndex((from) => from.getBuildStage() === name);
  expect(index, `stage ${name}`).toBeGreaterThanOrEqual(0);
  const start = froms[index]!.getRange().start.line;
  const end = froms[index + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
  return dockerfile
    .getInstructions()
    .filter((instruction) => instruction.getRange().start.line >= start && instruction.getRange().start.line < end);
}

/** Each instruction's text after its keyword; a COPY's --from flag (which dockerfile-ast keeps apart) included. */
const text = (instructions: ReturnType<typeof stage>, keyword: string): string[] =>
  instructions
    .filter((instruction) => instruction.getKeyword() === keyword)
    .map((instruction) => {
      const from = keyword === 'COPY' ? (instruction as ReturnType<Dockerfile['getCOPYs']>[number]).getFromFlag()?.getValue() : undefined;
      return `${from ? `--from=${from} ` : ''}${instruction.getArgumentsContent() ?? ''}`;
    });

describe('the Docker images (checked without docker)', () => {
  it('there are the images the deployment needs', () => {
    expect(dockerfiles.sort()).toEqual(['cpu.Dockerfile', 'models.Dockerfile', 'worker-onnx-gpu.Dockerfile', 'worker-tf-gpu.Dockerfile']);
  });

  it.each(dockerfiles)('%s parses, copies only paths that exist in the context, and only from stages it defines', (file) => {
    const dockerfile = parse(file);
    expect(dockerfile.getFROMs().length).toBeGreaterThan(1);
    const stages = new Set<string>();
    for (const instruction of dockerfile.getInstructions()) {
      const keyword = instruction.getKeyword();
      expect(['FROM', 'WORKDIR', 'ENV', 'COPY', 'RUN', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD'], `${file}: ${keyword}`).toContain(keyword);
      if (keyword === 'FROM') {
        const name = dockerfile
          .getFROMs()
          .find((from) => from.getRange().start.line === instruction.getRange().start.line)!
          .getBuildStage();
        if (name) stages.add(name);
      }
    }
    for (const copy of dockerfile.getCOPYs()) {
      const from = copy.getFromFlag()?.getValue();
      const sources = copy
        .getArguments()
        .slice(0, -1)
        .map((argument) => argument.getValue());
      expect(sources.length, `${file}: COPY ${copy.getArgumentsContent()}`).toBeGreaterThan(0);
      if (from) {
        // A stage of this file, or an image (named with a registry path or tag).
        if (!/[:/]/.test(from)) expect([...stages], `${file}: COPY --from=${from}`).toContain(from);
        continue;
      }
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), `${file}: COPY ${source}`).toBe(true);
        expect(
          ignored.some((pattern) => pattern.test(source.replace(/\/$/, ''))),
          `${file}: COPY ${source} is excluded by .dockerignore`,
        ).toBe(false);
      }
    }
  });

  it('every image runs as a non-root user, and sets only environment names Switchyard reads', () => {
    for (const file of dockerfiles) {
      const dockerfile = parse(file);
      const users = dockerfile
        .getInstructions()
        .filter((instruction) => instruction.getKeyword() === 'USER')
        .map((instruction) => instruction.getArgumentsContent());
      expect(users.length, file).toBeGreaterThan(0);
      for (const user of users) expect(['node', '1000'], file).toContain(user);
      for (const env of dockerfile.getInstructions().filter((instruction) => instruction.getKeyword() === 'ENV')) {
        for (const argument of env.getArguments()) {
          const name = argument.getValue().split('=')[0]!;
          if (name === 'NODE_ENV' || name === 'ONNXRUNTIME_NODE_INSTALL') continue;
          expect(CONFIG_NAMES, `${file}: ENV ${name}`).toContain(name);
        }
      }
    }
  });

  it('the CPU images: build all TypeScript and the models, keep production dependencies, download no CUDA', () => {
    const dockerfile = parse('cpu.Dockerfile');
    const build = text(stage(dockerfile, 'build'), 'RUN').join('\n');
    expect(build).toMatch(/npm run build && npm run models:build && npm prune --omit=dev/);
    expect(text(stage(dockerfile, 'build'), 'ENV')).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
    expect(text(stage(dockerfile, 'runtime'), 'ENV').join(' ')).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
    for (const from of dockerfile.getFROMs().filter((f) => ['build', 'runtime'].includes(f.getBuildStage() ?? '')))
      expect(from.getImage()).toBe('node:20-bookworm-slim');
    // The gateway image runs the load test too: it needs bench/ (scenario files) beside dist/bench.
    const gateway = stage(dockerfile, 'gateway');
    expect(text(gateway, 'COPY')).toContain('--from=build /app/bench bench');
    expect(text(gateway, 'HEALTHCHECK').join('')).toMatch(/node.*\/v2\/health\/live/);
    expect(text(gateway, 'CMD').join('')).toContain('dist/gateway/server.js');
    const worker = stage(dockerfile, 'worker-cpu');
    expect(text(worker, 'HEALTHCHECK').join('')).toMatch(/node.*\/ready/);
    expect(text(worker, 'CMD').join('')).toContain('dist/workers/main.js');
  });

  it('the GPU workers: CUDA 12 + cuDNN 9 (ONNX), CUDA 11.2 + cuDNN 8.1 (TF), install scripts run explicitly', () => {
    const onnx = parse('worker-onnx-gpu.Dockerfile');
    expect(onnx.getFROMs().at(-1)!.getImage()).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu/);
    expect(text(stage(onnx, 'build'), 'RUN')).toContain(
      'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js',
    );
    expect(existsSync(join(ROOT, 'node_modules/onnxruntime-node/script/install.js'))).toBe(true);
    expect(text(stage(onnx, 'worker-onnx-gpu'), 'ENV').join(' ')).toContain('WORKER_POOLS=onnx');

    const tf = parse('worker-tf-gpu.Dockerfile');
    expect(tf.getFROMs().at(-1)!.getImage()).toBe('nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04');
    // The same call as tfjs-node-gpu's own `install` script. The package is optional (its install
    // cannot download libtensorflow here, so npm may leave it out): compare with it where it is.
    const tfPackageFile = join(ROOT, 'node_modules/@tensorflow/tfjs-node-gpu/package.json');
    const tfInstall = existsSync(tfPackageFile)
      ? (JSON.parse(readFileSync(tfPackageFile, 'utf8')) as { scripts: { install: string } }).scripts.install
      : 'node scripts/install.js gpu download';
    expect(text(stage(tf, 'build'), 'RUN')).toContain(`cd node_modules/@tensorflow/tfjs-node-gpu && ${tfInstall}`);
    expect(text(stage(tf, 'worker-tf-gpu'), 'ENV').join(' ')).toContain('WORKER_POOLS=tf');
    // Node 20 comes from the official image, whose binary runs on these glibc versions.
    for (const dockerfile of [onnx, tf])
      expect(text(dockerfile.getInstructions() as ReturnType<typeof stage>, 'COPY')).toContain(
        '--from=node /usr/local/bin/node /usr/local/bin/node',
      );
  });
});

describe('docker/compose.yaml (checked without docker)', () => {
  const compose = parseYaml(readFileSync(join(DOCKER, 'compose.yaml'), 'utf8')) as {
    services: Record<
      string,
      {
        image: string;
        build?: { context: string; dockerfile: string; target: string };
        environment?: Record<string, string>;
        command?: string[];
        volumes?: string[];
        secrets?: { source: string }[];
      }
    >;
    secrets: Record<string, { file: string }>;
  };
  const chart = parseYaml(readFileSync(join(ROOT, 'helm/switchyard/Chart.yaml'), 'utf8')) as { appVersion: string };
  const values = parseYaml(readFileSync(join(ROOT, 'helm/switchyard/values.yaml'), 'utf8')) as {
    gateway: { image: { repository: string } };
    workerPools: { image: { repository: string } }[];
    redis: { bundled: { image: string } };
  };
  const template = (file: string): string => readFileSync(join(ROOT, 'helm/switchyard/templates', file), 'utf8');
  // A template's env entries, with those of the helper that sets REDIS_URL, REDIS_PREFIX and MODEL_REPOSITORY.
  const redisEnv = /define "switchyard\.redisEnv"[\s\S]*?\{\{- end -\}\}/.exec(template('_helpers.tpl'))![0];
  const envNames = (file: string): Set<string> => {
    const body = template(file) + (template(file).includes('include "switchyard.redisEnv"') ? redisEnv : '');
    return new Set([...body.matchAll(/- name: ([A-Z][A-Z0-9_]+)/g)].map(([, name]) => name!));
  };

  it("runs Redis, a gateway, a CPU worker and Prometheus, from the chart's images at the chart's appVersion", () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'prometheus', 'redis', 'worker']);
    expect(compose.services.gateway!.image).toBe(`${values.gateway.image.repository}:${chart.appVersion}`);
    expect(compose.services.worker!.image).toBe(`${values.workerPools[0]!.image.repository}:${chart.appVersion}`);
    expect(compose.services.redis!.image).toBe(values.redis.bundled.image);
    for (const name of ['gateway', 'worker']) {
      const { build } = compose.services[name]!;
      const stages = parse(build!.dockerfile.replace(/^docker\//, ''))
        .getFROMs()
        .map((from) => from.getBuildStage());
      expect(stages, name).toContain(build!.target);
    }
  });

  it('sets only environment names Switchyard reads, each of which the chart sets too', () => {
    const chartEnv = { gateway: envNames('gateway-deployment.yaml'), worker: envNames('worker-deployments.yaml') };
    for (const name of ['gateway', 'worker'] as const) {
      const environment = Object.keys(compose.services[name]!.environment ?? {});
      expect(environment.length).toBeGreaterThan(3);
      for (const variable of environment) {
        expect(CONFIG_NAMES, `${name}: ${variable}`).toContain(variable);
        expect(chartEnv[name], `${name}: ${variable} (chart)`).toContain(variable);
      }
    }
  });

  it("gives Redis the settings BullMQ needs, as the chart's bundled Redis does", () => {
    const command = compose.services.redis!.command!.join(' ');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(template('redis.yaml')).toMatch(/"--maxmemory-policy", "noeviction"/);
  });

  it('mounts files that exist, and a policy file the gateway accepts', () => {
    for (const volume of Object.values(compose.services).flatMap((service) => service.volumes ?? [])) {
      expect(existsSync(join(DOCKER, volume.split(':')[0]!)), volume).toBe(true);
    }
    for (const secret of Object.values(compose.secrets)) expect(existsSync(join(DOCKER, secret.file))).toBe(true);
    const policy = policySchema.safeParse(parseYaml(readFileSync(join(DOCKER, 'compose-policy.yaml'), 'utf8')));
    expect(policy.success, JSON.stringify(policy.error?.issues)).toBe(true);
    expect(policy.data!.tenants.some((tenant) => tenant.role === 'admin')).toBe(true);
  });
});
