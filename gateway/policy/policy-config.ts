import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * SWITCHYARD_CONFIG: tenants, their keys, limits and budgets, and the routes.
 * Validated once at start-up; errors name the field. Keys are held only as SHA-256
 * hashes: plain keys come from the environment or mounted secret files, never the file.
 */
/** The worst (highest) priority number: BullMQ's job priorities stop at 2^21. */
export const MAX_PRIORITY = 2_097_152;

const name = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, . _ - only');

const keySource = z.union([
  z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256 of the key') }),
  z.strictObject({ env: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
]);

/** A callback allow-list entry: a host name, `*.domain` (its subdomains), an IP address, or a CIDR. */
function isCallbackTarget(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  if (prefix !== undefined) {
    const family = isIP(address!);
    return extra === undefined && family !== 0 && /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  }
  return isIP(entry) !== 0 || /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.?$/i.test(entry);
}

const callbackAllowList = z.array(z.string().refine(isCallbackTarget, 'a host name, *.domain, an IP address or a CIDR such as 10.0.0.0/8'));

const tenant = z.strictObject({
  name,
  role: z.enum(['admin', 'user']).default('user'),
  /** Plan name, for routes that pick a tier by plan. */
  plan: z.string().default('default'),
  keys: z.array(keySource).min(1),
  /** Model and route names this tenant may call; "*" for all. */
  models: z.array(z.string().min(1)).default(['*']),
  rate_limit: z.strictObject({ max: z.number().int().min(1), window_ms: z.number().int().min(1).default(1000) }).optional(),
  budget: z.strictObject({ usd: z.number().min(0), period: z.enum(['day', 'month', 'total']).default('month') }).optional(),
  /**
   * Per pipeline, per step id: options laid over the step's own for this tenant's tasks
   * (e.g. stricter moderation thresholds); checked against the transform when pipelines load.
   */
  pipeline_options: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))).optional(),
  /** Signs this tenant's task callbacks (HMAC-SHA256); from the environment or a mounted secret file. */
  callback_secret: z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })]).optional(),
  /** Internal hosts or ranges this tenant's callbacks may reach, besides `callbacks.allow`. */
  callback_allow: callbackAllowList.default([]),
  /** Its requests' priority when the caller names none (lower runs first). */
  priority: z.number().int().min(0).max(MAX_PRIORITY).default(0),
  /** The best (lowest) priority a caller of this tenant may ask for; better is clamped to it... */
  max_priority: z.number().int().min(0).max(MAX_PRIORITY).default(0),
  /** ...or refused with 403 priority_not_allowed. */
  priority_strict: z.boolean().default(false),
  /** Requests in flight at once (over every gateway in distributed mode); more are refused with 429 concurrency_limited. */
  max_concurrency: z.number().int().min(1).optional(),
  /** Share of a model's capacity against other tenants at the same priority: the batchers take requests from tenants in turn, `weight` at a time. */
  weight: z.number().int().min(1).max(1000).default(1),
});

const target = z.strictObject({
  model: z.string().min(1),
  version: z
    .string()
    .regex(/^[1-9][0-9]*$/)
    .optional(),
});

const route = z.strictObject({
  /** Usable wherever a model name is (OIP paths included). */
  name,
  /** Ordered cheapest first; a tier's fallback is the next one. */
  tiers: z.array(target.extend({ name })).min(1),
  policy: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('fixed') }),
      z.strictObject({ type: z.literal('weighted'), weights: z.record(z.string(), z.number().min(0)) }),
      z.strictObject({
        type: z.literal('cascade'),
        /** The output whose largest value is the confidence (e.g. softmax probabilities). */
        output: z.string().min(1),
        threshold: z.number().min(0).max(1),
      }),
      z.strictObject({ type: z.literal('plan'), plans: z.record(z.string(), z.string()), default: z.string() }),
    ])
    .default({ type: 'fixed' }),
  /** Lets callers pick a tier by name with X-Tier: any tier, whatever their plan (docs/policy.md). */
  tier_header: z.boolean().default(false),
  shadow: z.strictObject({ tier: z.string(), percent: z.number().min(0).max(100) }).optional(),
  /**
   * Human review: answers whose confidence (the final tier's, judged like a cascade's) is
   * under `threshold`, or whose request sends `X-Review: true`, become review items.
   * `output` defaults to a cascade's own output; other policies must name one. `explain`:
   * items filed by explain requests keep the explanation (the console draws image heatmaps).
   */
  review: z
    .strictObject({ threshold: z.number().min(0).max(1), output: z.string().min(1).optional(), explain: z.boolean().default(false) })
    .optional(),
});

export const policySchema = z
  .strictObject({
    tenants: z.array(tenant).default([]),
    /**
     * Callbacks go only to public addresses unless allowed here: `allow_private` lets every
     * tenant reach any address; `allow` lists internal hosts or CIDRs every tenant may reach.
     */
    callbacks: z
      .strictObject({ allow_private: z.boolean().default(false), allow: callbackAllowList.default([]) })
      .default({ allow_private: false, allow: [] }),
    routes: z.array(route).default([]),
    idempotency: z.strictObject({ retention_hours: z.number().min(0.01).default(24) }).default({ retention_hours: 24 }),
    circuit_breaker: z
      .strictObject({ failures: z.number().int().min(1).default(5), open_ms: z.number().int().min(1).default(10_000) })
      .default({ failures: 5, open_ms: 10_000 }),
    audit: z.strictObject({ max_entries: z.number().int().min(100).default(100_000) }).default({ max_entries: 100_000 }),
    /** Review items are kept this long (resolved or not); request bodies up to max_input_bytes are kept with them. */
    reviews: z
      .strictObject({
        retention_hours: z.number().min(0.01).default(168),
        max_input_bytes: z.number().int().min(0).default(1_048_576),
      })
      .default({ retention_hours: 168, max_input_bytes: 1_048_576 }),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.tenants.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'name'], message: `duplicate tenant "${t.name}"` });
      seen.add(t.name);
      if (t.priority < t.max_priority) {
        ctx.addIssue({
          code: 'custom',
          path: ['tenants', i, 'priority'],
          message: `${t.priority} is better than the tenant's max_priority ${t.max_priority} (lower runs first)`,
        });
      }
    });
    const seenRoutes = new Set<string>();
    config.routes.forEach((r, i) => {
      if (seenRoutes.has(r.name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route "${r.name}"` });
      seenRoutes.add(r.name);
      const tiers = new Set<string>();
      r.tiers.forEach((t, k) => {
        if (tiers.has(t.name))
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'tiers', k, 'name'], message: `duplicate tier "${t.name}" in this route` });
        tiers.add(t.name);
      });
      const check = (tierName: string, path: (string | number)[]): void => {
        if (!tiers.has(tierName))
          ctx.addIssue({ code: 'custom', path: ['routes', i, ...path], message: `no tier "${tierName}" in this route` });
      };
      if (r.policy.type === 'weighted')
        for (const tierName of Object.keys(r.policy.weights)) check(tierName, ['policy', 'weights', tierName]);
      if (r.policy.type === 'plan') {
        for (const [plan, tierName] of Object.entries(r.policy.plans)) check(tierName, ['policy', 'plans', plan]);
        check(r.policy.default, ['policy', 'default']);
      }
      if (r.shadow) check(r.shadow.tier, ['shadow', 'tier']);
      if (r.review && r.review.output === undefined && r.policy.type !== 'cascade') {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'review', 'output'],
          message: 'required unless the route is a cascade (whose output it defaults to)',
        });
      }
    });
  });

export type PolicyConfig = z.output<typeof policySchema>;
export type TenantConfig = PolicyConfig['tenants'][number];
export type RouteConfig = PolicyConfig['routes'][number];

export interface Tenant extends Omit<TenantConfig, 'keys' | 'callback_secret' | 'callback_allow'> {
  readonly keyHashes: readonly string[];
  readonly callback_allow?: readonly string[];
  readonly callbackSecret?: string;
}

export interface Policy extends Omit<PolicyConfig, 'tenants'> {
  readonly tenants: readonly Tenant[];
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The largest policy file read: parsing is the cost (a 50 MB YAML file of 486k tenants took
 * 69 s and 3.8 GB); 8 MiB holds tens of thousands of tenants.
 */
export const MAX_POLICY_BYTES = 8 * 1024 * 1024;

export class PolicyConfigError extends Error {
  override name = 'PolicyConfigError';
}

/** Reads and validates the policy file; `environment` supplies keys given as `env`. */
export function loadPolicy(file: string | undefined, environment: Readonly<Record<string, string | undefined>>): Policy {
  if (!file) return { ...policySchema.parse({}), tenants: [] };
  let raw: unknown;
  const size = fileSize(file);
  if (size > MAX_POLICY_BYTES) throw new PolicyConfigError(`${file}: ${size} bytes; a policy file is at most ${MAX_POLICY_BYTES} (8 MiB)`);
  try {
    // A byte-order mark (editors on Windows write one) is no part of the document.
    const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new PolicyConfigError(`${file}: cannot be read as ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  const parsed = policySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    throw new PolicyConfigError(`${file}: ${field}: ${issue.message}`);
  }
  const tenants = parsed.data.tenants.map(({ keys, callback_secret: callbackSecret, ...t }, index) => ({
    ...t,
    keyHashes: keys.map((source, k) => resolveKeyHash(source, `${file}: tenants[${index}].keys[${k}]`, environment)),
    ...(callbackSecret ? { callbackSecret: readSecret(callbackSecret, `${file}: tenants[${index}].callback_secret`, environment) } : {}),
  }));
  refuseSharedKeys(tenants, file);
  return { ...parsed.data, tenants };
}

/**
 * A key belongs to one tenant: listed under two, it would authenticate as whichever came
 * last (a user's key could become an admin's). Compared by hash, so `env`, `file` and
 * `sha256` entries of the same key all match; the error names the entries, never the key.
 */
function refuseSharedKeys(tenants: readonly { name: string; keyHashes: readonly string[] }[], file: string): void {
  const owners = new Map<string, { tenant: string; where: string }>();
  tenants.forEach((t, index) =>
    t.keyHashes.forEach((hash, k) => {
      const where = `tenants[${index}].keys[${k}]`;
      const owner = owners.get(hash);
      if (owner && owner.tenant !== t.name) {
        throw new PolicyConfigError(
          `${file}: ${where}: tenant "${t.name}" lists a key that tenant "${owner.tenant}" also lists (${owner.where}); a key belongs to one tenant`,
        );
      }
      if (!owner) owners.set(hash, { tenant: t.name, where });
    }),
  );
}

/** 0 when it cannot be stat'ed: reading it then says why. */
function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function resolveKeyHash(
  source: z.output<typeof keySource>,
  where: string,
  environment: Readonly<Record<string, string | undefined>>,
): string {
  if ('sha256' in source) return source.sha256;
  return hashKey(readSecret(source, where, environment));
}

function readSecret(
  source: { env: string } | { file: string },
  where: string,
  environment: Readonly<Record<string, string | undefined>>,
): string {
  if ('env' in source) {
    const value = environment[source.env];
    if (!value) throw new PolicyConfigError(`${where}: environment variable ${source.env} is not set`);
    return value;
  }
  let value: string;
  try {
    value = readFileSync(source.file, 'utf8').trim();
  } catch (error) {
    throw new PolicyConfigError(
      `${where}: secret file ${source.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!value) throw new PolicyConfigError(`${where}: secret file ${source.file} is empty`);
  return value;
}
