import pino from 'pino';
import { parseConfig } from '../../gateway/config.js';
import { loadPipelines } from '../../gateway/pipelines/load-pipelines.js';
import type { PipelineConfig } from '../../gateway/pipelines/pipeline-config.js';
import { runPipeline, type PipelineRunResult, type StepEvent } from '../../gateway/pipelines/run-pipeline.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';
import type { ModelManager } from '../../workers/pool/model-manager.js';
import { localModelManager } from '../../workers/pool/local-model-manager.js';
import { loadRepository } from '../../workers/repository/load-repository.js';

export interface PipelineBackend {
  readonly manager: ModelManager;
  readonly pipelines: readonly PipelineConfig[];
  run(name: string, inputs: Record<string, unknown>, events?: StepEvent[]): Promise<PipelineRunResult>;
  close(): Promise<void>;
}

/** An embedded backend with every model of the repository loaded, and its pipelines, run in-process. */
export async function startPipelineBackend(repository: string, environment: Record<string, string> = {}): Promise<PipelineBackend> {
  const config = parseConfig({ MODEL_REPOSITORY: repository, PORT: '0', LOG_LEVEL: 'silent', CPU_COUNT: '2', ...environment });
  const manager = localModelManager(config, pino({ level: 'silent' }));
  await manager.loadAll();
  const transforms = builtInTransforms({ maxImagePixels: config.MAX_IMAGE_PIXELS });
  const pipelines = await loadPipelines(repository, await loadRepository(repository), transforms);
  let tasks = 0;
  return {
    manager,
    pipelines,
    run(name, inputs, events = []) {
      const pipeline = pipelines.find((candidate) => candidate.name === name);
      if (!pipeline) throw new Error(`no pipeline ${name}`);
      tasks += 1;
      return runPipeline(pipeline, inputs, {
        backend: manager,
        taskId: `task-${tasks}`,
        deadline: Date.now() + pipeline.default_timeout_ms,
        priority: 0,
        transforms,
        onEvent: (event) => events.push(event),
      });
    },
    close: () => manager.close(),
  };
}
