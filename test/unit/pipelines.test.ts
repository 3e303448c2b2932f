import { describe, expect, it } from 'vitest';
import { loadPipelines } from '../../gateway/pipelines/load-pipelines.js';
import { pipelineConfigSchema, type PipelineConfig } from '../../gateway/pipelines/pipeline-config.js';
import { runPipeline, StepFailedError, type StepEvent } from '../../gateway/pipelines/run-pipeline.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';
import { TransformCatalog } from '../../gateway/pipelines/transforms/catalog.js';
import type { Transform } from '../../gateway/pipelines/transforms/transform.js';
import type { ServingBackend } from '../../gateway/serving-backend.js';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { stepCalls } from '../helpers/pipeline-backend.js';
import { TestRepository } from '../helpers/repository.js';

/** Waits, then adds one to its input: shows which steps overlap in time. */
const slowIncrement: Transform = {
  name: 'slow-increment',
  inputs: ['n'],
  outputs: ['n'],
  checkOptions: () => undefined,
  async run({ n }, options) {
    await new Promise((resolve) => setTimeout(resolve, Number(options.ms ?? 50)));
    return { n: (n as number) + 1 };
  },
};
const sum: Transform = {
  name: 'sum',
  inputs: ['a', 'b'],
  outputs: ['total'],
  checkOptions: () => undefined,
  run: async ({ a, b }) => ({ total: (a as number) + (b as number) }),
};
const explode: Transform = {
  name: 'explode',
  inputs: ['n'],
  outputs: ['n'],
  checkOptions: () => undefined,
  run: async () => {
    throw new Error('boom');
  },
};
const catalog = new TransformCatalog([slowIncrement, sum, explode]);
const noBackend = {} as ServingBackend;

const parse = (config: Record<string, unknown>): PipelineConfig => pipelineConfigSchema.parse({ name: 'p', ...config });

function run(pipeline: PipelineConfig, inputs: Record<string, unknown>, deadlineMs = 5_000, events: StepEvent[] = []) {
  const context = { ...stepCalls(noBackend), transforms: catalog, taskId: 't', deadline: Date.now() + deadlineMs, priority: 0 };
  return runPipeline(pipeline, inputs, { ...context, onEvent: (event) => events.push(event) });
}

const diamond = parse({
  inputs: { start: { kind: 'json' } },
  steps: [
    { id: 'left', transform: 'slow-increment', inputs: { n: 'start' }, outputs: { n: 'l' }, options: { ms: 100 } },
    { id: 'right', transform: 'slow-increment', inputs: { n: 'start' }, outputs: { n: 'r' }, options: { ms: 100 } },
    { id: 'join', transform: 'sum', inputs: { a: 'l', b: 'r' }, outputs: { total: 'total' } },
  ],
  outputs: { total: 'total' },
});

describe('pipeline graphs', () => {
  it('runs steps that do not depend on each other at the same time, and a step once its inputs exist', async () => {
    const started = performance.now();
    const events: StepEvent[] = [];
    const result = await run(diamond, { start: 1 }, 5_000, events);
    expect(result.outputs).toEqual({ total: 4 });
    // Two 100 ms steps side by side take about 100 ms, not 200.
    expect(performance.now() - started).toBeLessThan(190);
    expect(
      events
        .filter((event) => event.type === 'step-started')
        .map((event) => event.step)
        .slice(0, 2)
        .sort(),
    ).toEqual(['left', 'right']);
    expect(events.at(-1)).toMatchObject({ type: 'step-finished', step: 'join' });
    expect(result.steps.map((step) => step.step)).toContain('join');
  });

  it('fails with the step named when a step throws', async () => {
    const pipeline = parse({
      inputs: { n: { kind: 'json' } },
      steps: [{ id: 'kaboom', transform: 'explode', inputs: { n: 'n' }, outputs: { n: 'out' } }],
      outputs: { out: 'out' },
    });
    const failure = await run(pipeline, { n: 1 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailedError);
    expect(failure).toMatchObject({ step: 'kaboom', code: 'step_failed', message: 'step "kaboom" failed: boom' });
  });

  it('ends at the deadline instead of waiting for a step that takes too long', async () => {
    const pipeline = parse({
      inputs: { n: { kind: 'json' } },
      steps: [{ id: 'slow', transform: 'slow-increment', inputs: { n: 'n' }, outputs: { n: 'out' }, options: { ms: 2_000 } }],
      outputs: { out: 'out' },
    });
    const started = performance.now();
    const failure = await run(pipeline, { n: 1 }, 100).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'request_timeout' });
    expect((failure as Error).message).toContain('slow');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses graphs that cannot run, naming the problem', () => {
    const problems = (config: Record<string, unknown>): string[] => {
      const parsed = pipelineConfigSchema.safeParse({ name: 'p', inputs: { a: { kind: 'json' } }, outputs: { out: 'a' }, ...config });
      return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
    };
    expect(problems({ steps: [{ id: 's', transform: 'sum', inputs: { a: 'a', b: 'nowhere' }, outputs: { total: 't' } }] })).toContain(
      'value "nowhere" is produced by no input or step',
    );
    expect(problems({ steps: [{ id: 's', transform: 'sum', inputs: { a: 'a', b: 'a' }, outputs: { total: 'a' } }] })).toContain(
      'value "a" is produced twice',
    );
    expect(
      problems({
        steps: [
          { id: 's', transform: 'sum', inputs: { a: 'a', b: 'a' }, outputs: { total: 't' } },
          { id: 's', transform: 'sum', inputs: { a: 'a', b: 'a' }, outputs: { total: 'u' } },
        ],
      }),
    ).toContain('duplicate step id "s"');
    expect(
      problems({
        steps: [
          { id: 'x', transform: 'sum', inputs: { a: 'a', b: 'from_y' }, outputs: { total: 'from_x' } },
          { id: 'y', transform: 'sum', inputs: { a: 'a', b: 'from_x' }, outputs: { total: 'from_y' } },
        ],
      }),
    ).toContain('steps "x", "y" wait on each other in a cycle');
    expect(
      problems({
        steps: [{ id: 's', transform: 'sum', inputs: { a: 'a', b: 'a' }, outputs: { total: 't' } }],
        outputs: { out: 'missing' },
      }),
    ).toContain('value "missing" is produced by no input or step');
  });
});

describe('loading pipelines from the repository', () => {
  const load = async (pipeline: Record<string, unknown>): Promise<string> => {
    const repository = new TestRepository().copy('text-direction').addPipeline('p', pipeline);
    try {
      await loadPipelines(repository.dir, await loadRepository(repository.dir), builtInTransforms());
      return 'loaded';
    } catch (error) {
      return (error as Error).message.replace(repository.dir, '<repo>');
    } finally {
      repository.remove();
    }
  };
  const base = { inputs: { image: { kind: 'image' } }, outputs: { scores: 'scores' } };

  it('loads the shipped pipelines against the shipped models', async () => {
    const repository = new TestRepository().copy('text-direction').copyPipeline('text-orientation');
    const pipelines = await loadPipelines(repository.dir, await loadRepository(repository.dir), builtInTransforms());
    expect(pipelines.map((p) => p.name)).toEqual(['text-orientation']);
    repository.remove();
  });

  it('names the file and field of a wiring mistake', async () => {
    expect(await load({ ...base, steps: [{ id: 'c', model: 'nope', inputs: { x: 'image' }, outputs: { y: 'scores' } }] })).toBe(
      '<repo>/p/pipeline.json: steps[0].model: no model "nope" in the repository',
    );
    expect(
      await load({
        ...base,
        steps: [{ id: 'c', model: 'text-direction', inputs: { wrong: 'image' }, outputs: { 'softmax_0.tmp_0': 'scores' } }],
      }),
    ).toMatch(/steps\[0\]\.inputs: model "text-direction" needs input "x"/);
    expect(
      await load({ ...base, steps: [{ id: 'c', model: 'text-direction', inputs: { x: 'image' }, outputs: { nope: 'scores' } }] }),
    ).toMatch(/steps\[0\]\.outputs: model "text-direction" has no output "nope"/);
    expect(
      await load({
        ...base,
        steps: [{ id: 'c', model: 'text-direction', version: '9', inputs: { x: 'image' }, outputs: { 'softmax_0.tmp_0': 'scores' } }],
      }),
    ).toMatch(/steps\[0\]\.version: model "text-direction" has no version 9/);
    expect(await load({ ...base, steps: [{ id: 'c', transform: 'nope', inputs: { x: 'image' }, outputs: { y: 'scores' } }] })).toMatch(
      /steps\[0\]\.transform: no transform "nope" \(built in: /,
    );
    expect(
      await load({ ...base, steps: [{ id: 'c', transform: 'top-k', inputs: { wrong: 'image' }, outputs: { top: 'scores' } }] }),
    ).toMatch(/steps\[0\]\.inputs: transform "top-k" takes scores/);
    expect(
      await load({
        ...base,
        steps: [{ id: 'c', transform: 'top-k', inputs: { scores: 'image' }, outputs: { top: 'scores' }, options: { k: 0 } }],
      }),
    ).toMatch(/steps\[0\]\.options: k must be an integer >= 1/);
    expect(
      await load({
        ...base,
        name: 'other',
        steps: [{ id: 'c', transform: 'top-k', inputs: { scores: 'image' }, outputs: { top: 'scores' } }],
      }),
    ).toMatch(/name: "other" must match its folder name "p"/);
    expect(await load({ ...base, steps: [] })).toMatch(/steps/);
  });
});
