import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where `--scenario NAME` looks: scenarios/ next to this module, in the sources and in dist/. */
export const SHIPPED_SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

const positiveInt = z.number().int().positive();

const Body = z.discriminatedUnion('from', [
  /** Random valid tensors from `GET /v2/models/{m}`: -1 batch dims become 1, other -1 dims `dynamic_dim`. */
  z.strictObject({
    from: z.literal('metadata'),
    dynamic_dim: positiveInt.default(8),
    /** Ask for outputs in the binary extension (a large output as JSON numbers would measure JSON, not serving). */
    binary_output: z.boolean().default(false),
  }),
  /** OIP JSON bodies written by hand, paths relative to the scenario file, sent in turn. */
  z.strictObject({ from: z.literal('files'), files: z.array(z.string().min(1)).min(1) }),
  /** PNGs of this size through the binary tensor extension, to the model's image input. */
  z.strictObject({
    from: z.literal('image'),
    width: positiveInt.max(4096),
    height: positiveInt.max(4096),
    images_per_request: positiveInt.max(64).default(1),
  }),
]);

const RequestMix = z
  .strictObject({
    /** A model or a route name (`/v2/models/{model}/infer`). */
    model: z.string().min(1),
    version: z.string().min(1).optional(),
    /** Share of the traffic, relative to the other entries. */
    weight: positiveInt.default(1),
    body: Body.default({ from: 'metadata', dynamic_dim: 8, binary_output: false }),
    /** Each Idempotency-Key is sent `repeats` times, by whichever connections come next (a retry storm). */
    idempotency: z.strictObject({ repeats: positiveInt.max(1000) }).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /**
     * `model` names a pipeline: each request is `POST /v1/tasks/{model}` with one generated
     * image as the raw body (drawn shapes, body.from "image" sizes it) and `query` as its options.
     */
    task: z.boolean().default(false),
    query: z.record(z.string(), z.string()).optional(),
    /**
     * Sent as this tenant: the report gives its own latency lines per phase, and phases may give
     * each tenant connections of its own (`tenants`). Its key comes from the environment
     * variable `key_env` (keys never sit in scenario files); the run's --key when absent.
     */
    tenant: z
      .string()
      .regex(/^[\w.-]+$/)
      .optional(),
    key_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
  })
  .refine((entry) => !entry.task || entry.body.from === 'image', {
    message: 'a task entry sends images: body.from must be "image"',
    path: ['body'],
  });

const Phase = z
  .strictObject({
    /** Part of the run's duration, relative to the other phases. */
    share: z.number().positive().default(1),
    connections: positiveInt.max(10_000),
    /** Requests per second over all connections (open loop); absent: closed loop, as fast as answered. */
    rate: positiveInt.optional(),
    /**
     * Connections per tenant, each tenant its own closed loop, all at once (a noisy neighbour:
     * one tenant's 32 connections beside another's 1). Absent: every connection sends the mix.
     */
    tenants: z.record(z.string(), positiveInt).optional(),
  })
  .refine((phase) => phase.tenants === undefined || Object.values(phase.tenants).reduce((a, b) => a + b, 0) === phase.connections, {
    message: "connections must be the sum of the tenants' connections",
    path: ['connections'],
  })
  .refine((phase) => phase.tenants === undefined || phase.rate === undefined, {
    message: 'a phase split by tenant runs closed loops: no rate',
    path: ['rate'],
  })
  // autocannon splits the rate across connections; a connection given 0 would send unthrottled.
  .refine((phase) => phase.rate === undefined || phase.rate >= phase.connections, {
    message: 'rate must be at least connections',
    path: ['rate'],
  });

const Slo = z.strictObject({
  p95_ms: z.number().positive().optional(),
  p99_ms: z.number().positive().optional(),
  /** Errors over all requests; refusals (429, 503, 409 in progress) and replays are not errors. */
  max_error_rate: z.number().min(0).max(1).optional(),
  min_throughput_rps: z.number().min(0).optional(),
});

export const ScenarioSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    duration_s: z.number().positive().max(86_400).default(20),
    requests: z.array(RequestMix).min(1),
    phases: z.array(Phase).min(1),
    /** Report the phase with the most throughput whose p95 meets slo.p95_ms (a ramp). */
    find_knee: z.boolean().default(false),
    /** Per-request timeout, seconds. */
    timeout_s: z.number().positive().max(600).default(10),
    slo: Slo.default({}),
  })
  .superRefine((scenario, ctx) => {
    const tenants = new Set(scenario.requests.map((entry) => entry.tenant).filter((tenant) => tenant !== undefined));
    scenario.phases.forEach((phase, index) => {
      for (const tenant of Object.keys(phase.tenants ?? {})) {
        if (!tenants.has(tenant))
          ctx.addIssue({ code: 'custom', path: ['phases', index, 'tenants', tenant], message: `no request entry has tenant "${tenant}"` });
      }
    });
  });

export type Scenario = z.infer<typeof ScenarioSchema>;
export type RequestMixEntry = Scenario['requests'][number];
export type PhaseSpec = Scenario['phases'][number];
export type SloSpec = Scenario['slo'];

/** A scenario with where it came from: relative body files resolve against `dir`. */
export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly file: string;
  readonly dir: string;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Validates a parsed scenario; the error names each bad field by its path. */
export function parseScenario(value: unknown, source: string): Scenario {
  const parsed = ScenarioSchema.safeParse(value);
  if (parsed.success) {
    if (parsed.data.find_knee && parsed.data.slo.p95_ms === undefined)
      throw new ScenarioError(`${source}: slo.p95_ms: find_knee needs a p95 target`);
    return parsed.data;
  }
  const lines = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(scenario)'}: ${issue.message}`);
  throw new ScenarioError(`${source}: invalid scenario\n  ${lines.join('\n  ')}`);
}

/** A shipped scenario by NAME (scenarios/NAME.json) or a path to a user's file. */
export function loadScenario(nameOrPath: string): LoadedScenario {
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  const file = looksLikePath ? (isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath)) : join(SHIPPED_SCENARIOS, `${nameOrPath}.json`);
  if (!existsSync(file)) {
    const hint = looksLikePath ? '' : ` (shipped: ${shippedScenarioNames().join(', ')})`;
    throw new ScenarioError(`unknown scenario "${nameOrPath}": no file ${file}${hint}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ScenarioError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return { scenario: parseScenario(json, file), file, dir: dirname(file) };
}

export function shippedScenarioNames(): string[] {
  if (!existsSync(SHIPPED_SCENARIOS)) return [];
  return readdirSync(SHIPPED_SCENARIOS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}
