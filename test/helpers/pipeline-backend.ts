import pino from 'pino';
import { parseConfig } from '../../gateway/config.js';
import { loadPipelines } from '../../gateway/pipelines/load-pipelines.js';
import type { PipelineConfig } from '../../gateway/pipelines/pipeline-config.js';
import { runPipeline, type PipelineRunResult, type StepEvent } from '../../gateway/pipelines/run-pipeline.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';
import type { ModelManager } from '../../workers/pool/model-manager.js';
import { localModelManager } from '../../workers/pool/local-model-manager.js';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { MemorySpendLedger, type SpendLedger } from '../../gateway/ledger/spend-ledger.js';
import { CircuitBreakers } from '../../gateway/routing/circuit-breaker.js';
import type { ModelCallPayer } from '../../gateway/routing/model-call.js';
import type { StepRequestContext } from '../../gateway/pipelines/model-step.js';
import type { ServingBackend } from '../../gateway/serving-backend.js';
import type { RouteConfig } from '../../gateway/policy/policy-config.js';

/** The model-call path a task's steps take, with no routes and an in-memory ledger, for tenant "test" unless `payer` says otherwise. */
export function stepCalls(
  backend: ServingBackend,
  payer: ModelCallPayer = { tenant: 'test' },
  ledger: SpendLedger = new MemorySpendLedger(),
  routes: readonly RouteConfig[] = [],
): Pick<StepRequestContext, 'calls' | 'payer' | 'plan'> {
  const onLedgerError = (error: unknown): void => {
    throw error;
  };
  return {
    calls: { backend, routes: () => routes, breakers: new CircuitBreakers(5, 1_000), ledger, onLedgerError },
    payer,
    plan: 'default',
  };
}

export interface PipelineRunOptions {
  readonly payer?: ModelCallPayer;
  readonly ledger?: SpendLedger;
  readonly timeoutMs?: number;
}

export interface PipelineBackend {
  readonly manager: ModelManager;
  readonly pipelines: readonly PipelineConfig[];
  run(name: string, inputs: Record<string, unknown>, events?: StepEvent[], options?: PipelineRunOptions): Promise<PipelineRunResult>;
  close(): Promise<void>;
}

/** An embedded backend with every model of the repository loaded, and its pipelines, run in-process. */
export async function startPipelineBackend(
  repository: string,
  environment: Record<string, string> = {},
  routes: readonly RouteConfig[] = [],
): Promise<PipelineBackend> {
  const config = parseConfig({ MODEL_REPOSITORY: repository, PORT: '0', LOG_LEVEL: 'silent', CPU_COUNT: '2', ...environment });
  const manager = localModelManager(config, pino({ level: 'silent' }));
  await manager.loadAll();
  const transforms = builtInTransforms({ maxImagePixels: config.MAX_IMAGE_PIXELS, decodedImageBytes: config.DECODED_IMAGE_BYTES });
  const pipelines = await loadPipelines(repository, await loadRepository(repository), transforms, routes);
  let tasks = 0;
  return {
    manager,
    pipelines,
    run(name, inputs, events = [], options = {}) {
      const pipeline = pipelines.find((candidate) => candidate.name === name);
      if (!pipeline) throw new Error(`no pipeline ${name}`);
      tasks += 1;
      return runPipeline(pipeline, inputs, {
        ...stepCalls(manager, options.payer, options.ledger, routes),
        taskId: `task-${tasks}`,
        deadline: Date.now() + (options.timeoutMs ?? pipeline.default_timeout_ms),
        priority: 0,
        transforms,
        onEvent: (event) => events.push(event),
      });
    },
    close: () => manager.close(),
  };
}
