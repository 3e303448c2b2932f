import type { Manifest } from './helm.js';

interface ModelClass {
  new (data: object): { validate(): void };
}

/** The package whose generated models carry the official schema of an API group. */
function modelModule(apiVersion: string): string {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  if (group === 'keda.sh') return `@kubernetes-models/keda/${apiVersion}`;
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

// DNS-1123: what the API server requires of names (a Service's is a label, at most 63 characters).
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Problems with one rendered object: no model for its kind (so nothing could check it), a name the
 * API server refuses, or the schema's own errors (types, required fields, enums, formats).
 * The models do not flag unknown fields; a cluster with strict field validation does.
 */
export async function schemaProblems(manifest: Manifest): Promise<string[]> {
  const where = `${manifest.kind}/${manifest.metadata?.name}`;
  const exports = (await import(modelModule(manifest.apiVersion)).catch(() => ({}))) as Record<string, ModelClass | undefined>;
  const Model = exports[manifest.kind];
  if (!Model) return [`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`];
  const problems: string[] = [];
  const name = manifest.metadata.name;
  const nameOk = manifest.kind === 'Service' ? LABEL.test(name) && name.length <= 63 : SUBDOMAIN.test(name) && name.length <= 253;
  if (!nameOk) problems.push(`${where}: not a valid ${manifest.kind} name`);
  try {
    new Model(manifest).validate();
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  }
  return problems;
}
