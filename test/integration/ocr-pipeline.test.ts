import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFailedError, type StepEvent } from '../../gateway/pipelines/run-pipeline.js';
import type { ReadLine } from '../../gateway/pipelines/transforms/ocr/read-lines.js';
import { characterAccuracy } from '../helpers/character-accuracy.js';
import { startPipelineBackend, type PipelineBackend } from '../helpers/pipeline-backend.js';
import { TestRepository } from '../helpers/repository.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_MODELS } from '../helpers/repository.js';
import { renderNumberGrid, renderTextLine, renderTextPage } from '../helpers/text-images.js';

/** The shipped pipeline with a box cap a small grid passes: what a page past the default 1000 boxes meets. */
const shipped = JSON.parse(readFileSync(join(PROJECT_MODELS, 'ocr', 'pipeline.json'), 'utf8')) as {
  steps: { id: string; options?: object }[];
};
const capped = {
  ...shipped,
  name: 'ocr-capped',
  steps: shipped.steps.map((step) => (step.id === 'boxes' ? { ...step, options: { ...step.options, max_boxes: 20 } } : step)),
};
const repository = new TestRepository()
  .copy('text-detector')
  .copy('text-direction')
  .copy('text-recognizer')
  .copyPipeline('ocr')
  .addPipeline('ocr-capped', capped);
let backend: PipelineBackend;

beforeAll(async () => {
  // A pixel limit low enough to show the refusal with a cheap image, and decoding memory for one large page.
  backend = await startPipelineBackend(repository.dir, { MAX_IMAGE_PIXELS: '3000000', DECODED_IMAGE_BYTES: String(1024 * 1024) });
});
afterAll(async () => {
  await backend.close();
  repository.remove();
});

/** Pages of two or three lines; 12 lines in all, two of them upside down. */
const PAGES: { text: string; upsideDown?: boolean }[][] = [
  [{ text: 'Invoice 2024-118' }, { text: 'Total due 1375.40' }],
  [{ text: 'Hello World 42' }, { text: 'quick brown fox' }, { text: 'jumps over 7 dogs', upsideDown: true }],
  [{ text: 'Order number 58213' }, { text: 'Ship to Berlin' }],
  [{ text: 'Meeting at 10:30' }, { text: 'Room 4B second floor', upsideDown: true }, { text: 'Bring the report' }],
  [{ text: 'Serial KX-9930-T' }, { text: 'Made in 2019' }],
];

/** Without spaces: the recognizer's spacing between words is not what is measured here. */
const letters = (text: string): string => text.replace(/\s+/g, '');

async function read(image: Uint8Array): Promise<ReadLine[]> {
  const result = await backend.run('ocr', { image });
  return result.outputs['lines'] as ReadLine[];
}

async function accuracyOver(
  render: (page: (typeof PAGES)[number]) => Promise<Uint8Array>,
): Promise<{ letters: number; spaced: number; report: string }> {
  const pairs: [string, string][] = [];
  const spaced: [string, string][] = [];
  for (const page of PAGES) {
    const lines = await read(await render(page));
    const expected = page.map((line) => line.text).join(' ');
    const readText = lines.map((line) => line.text).join(' ');
    pairs.push([letters(expected), letters(readText)]);
    spaced.push([expected, readText]);
  }
  return {
    letters: characterAccuracy(pairs),
    spaced: characterAccuracy(spaced),
    report: spaced.map(([e, r]) => `  ${e} => ${r}`).join('\n'),
  };
}

describe('ocr pipeline (PaddleOCR v4 detection, direction, recognition; pretrained)', () => {
  it('reads rendered multi-line PNG pages, upside-down lines included', async () => {
    const measured = await accuracyOver((page) => renderTextPage(page));
    console.log(
      `OCR character accuracy, 12 lines, PNG, 36 px text: ${measured.letters.toFixed(4)} (spaces ignored), ${measured.spaced.toFixed(4)} (spaces counted)`,
    );
    // Measured 1.0 on both counts.
    expect(measured.letters, measured.report).toBeGreaterThanOrEqual(0.97);
  });

  it('reads smaller text through JPEG compression', async () => {
    const measured = await accuracyOver(async (page) =>
      sharp(await renderTextPage(page, { lineHeight: 40, width: 520 }))
        .jpeg({ quality: 60 })
        .toBuffer(),
    );
    console.log(
      `OCR character accuracy, 12 lines, JPEG q60, 22 px text: ${measured.letters.toFixed(4)} (spaces ignored), ${measured.spaced.toFixed(4)} (spaces counted)`,
    );
    // Measured 1.0 without spaces, 0.965 with them (a few word gaps are lost at this size).
    expect(measured.letters, measured.report).toBeGreaterThanOrEqual(0.95);
  });

  it('reads light and dark text on a transparent background, shown on the background each stands out against', async () => {
    const light = await accuracyOver((page) => renderTextPage(page, { ink: 'white', background: 'none' }));
    const dark = await accuracyOver((page) => renderTextPage(page, { ink: 'black', background: 'none' }));
    console.log(
      `OCR character accuracy, transparent PNG, spaces ignored: white text ${light.letters.toFixed(4)}, black text ${dark.letters.toFixed(4)}`,
    );
    // Measured 1.0 on both; white text read as nothing when alpha was always flattened onto white.
    expect(light.letters, light.report).toBeGreaterThanOrEqual(0.97);
    expect(dark.letters, dark.report).toBeGreaterThanOrEqual(0.97);
  });

  it('reads every cell of a grid under the box cap, and says how many boxes were left out past it', async () => {
    const { image, cells } = await renderNumberGrid(6, 5);
    const whole = await backend.run('ocr', { image });
    const read = (whole.outputs['lines'] as ReadLine[]).map((line) => line.text);
    expect(whole.outputs).toMatchObject({ truncated: false, boxes_left_out: 0 });
    expect([...read].sort()).toEqual([...cells].sort());

    const partial = await backend.run('ocr-capped', { image });
    const kept = partial.outputs['lines'] as ReadLine[];
    // The 20 best-scoring boxes are read; the other 10 cells are counted, not silently lost.
    expect(partial.outputs).toMatchObject({ truncated: true, boxes_left_out: 10 });
    expect(kept.length).toBeLessThanOrEqual(20);
    for (const line of kept) expect(cells).toContain(line.text);
  });

  it('answers lines top to bottom, left to right, with boxes inside the image, as plain JSON', async () => {
    const left = await renderTextLine('left side', { width: 380, height: 64 });
    const right = await renderTextLine('right side', { width: 380, height: 64 });
    const below = await renderTextLine('next row', { width: 380, height: 64 });
    const page = await sharp({ create: { width: 800, height: 200, channels: 3, background: 'white' } })
      .composite([
        { input: right, left: 420, top: 20 },
        { input: below, left: 0, top: 110 },
        { input: left, left: 0, top: 20 },
      ])
      .png()
      .toBuffer();
    const result = await backend.run('ocr', { image: page });
    const lines = result.outputs['lines'] as ReadLine[];
    expect(lines.map((line) => line.text)).toEqual(['left side', 'right side', 'next row']);
    for (const { box } of lines) {
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(800);
      expect(box.y + box.height).toBeLessThanOrEqual(200);
    }
    expect(lines[1]!.box.x).toBeGreaterThan(400);
    expect(lines[2]!.box.y).toBeGreaterThan(lines[0]!.box.y + lines[0]!.box.height / 2);
    expect(JSON.parse(JSON.stringify(result.outputs))).toEqual(result.outputs);
    const direction = result.steps.find((step) => step.step === 'direction');
    expect(direction).toMatchObject({ kind: 'model', model: 'text-direction', requests: 3 });
    expect(result.costUsd).toBeGreaterThan(0);
  });

  it('finds no lines on a blank image', async () => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    expect(await read(blank)).toEqual([]);
  });

  it('fails a corrupt image at the step that decodes it, as invalid_media', async () => {
    const events: StepEvent[] = [];
    const corrupt = (await renderTextLine('cut short')).subarray(0, 200);
    const failure = await backend.run('ocr', { image: corrupt }, events).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailedError);
    expect(failure).toMatchObject({
      step: 'prepare',
      code: 'invalid_media',
      message: expect.stringMatching(/step "prepare" failed: the image cannot be decoded/),
    });
    expect(events).toContainEqual(expect.objectContaining({ type: 'step-failed', step: 'prepare', code: 'invalid_media' }));
  });

  it('refuses an SVG by its first bytes, before libvips would parse it', async () => {
    const svg = Buffer.from(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><text>hello</text></svg>`);
    await expect(backend.run('ocr', { image: svg })).rejects.toMatchObject({
      step: 'prepare',
      code: 'invalid_media',
      message: expect.stringMatching(/the image is svg or other text: send PNG, JPEG or WebP/),
    });
  });

  it('refuses an image over the pixel limit as image_too_large', async () => {
    const big = await sharp({ create: { width: 2000, height: 1600, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    await expect(backend.run('ocr', { image: big })).rejects.toMatchObject({ step: 'prepare', code: 'image_too_large' });
  });

  it("holds a decoded page's memory until its task ends: a second page waits to be decoded", async () => {
    const page = await renderTextPage([{ text: 'Decoded memory' }, { text: 'is held per task' }, { text: 'until it ends' }], {
      width: 1600,
    });
    const { width = 0, height = 0 } = await sharp(page).metadata();
    expect(width * height * 3).toBeGreaterThan(1024 * 1024);
    const order: string[] = [];
    // The second task's events, noted as they happen.
    const second = Object.assign([] as StepEvent[], {
      push(event: StepEvent): number {
        if (event.type === 'step-finished' && event.step === 'prepare') order.push('second decoded');
        return 0;
      },
    });
    const first = backend.run('ocr', { image: page }).then((result) => (order.push('first ended'), result));
    const results = await Promise.all([first, backend.run('ocr', { image: page }, second)]);
    expect(order).toEqual(['first ended', 'second decoded']);
    for (const result of results) expect((result.outputs['lines'] as ReadLine[]).map((line) => line.text).join(' ')).toMatch(/memory/i);
  });
});
