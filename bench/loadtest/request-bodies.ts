import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { encodeInferRequest } from '../../client/infer-codec.js';
import type { RequestMixEntry } from './scenario.js';
import type { TargetClient, TensorMetadata } from './target-client.js';

/** One request ready for autocannon: everything but the headers a scenario adds per send. */
export interface PreparedRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Distinct bodies per request kind: enough variety for the batcher, cheap to build. */
const BODIES_PER_ENTRY = 16;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Builds one entry's bodies from the target's metadata, from files, or as images. */
export async function prepareBodies(entry: RequestMixEntry, client: TargetClient, scenarioDir: string): Promise<PreparedRequest[]> {
  const body = entry.body;
  if (entry.task && body.from === 'image') {
    const query = new URLSearchParams(entry.query ?? {}).toString();
    const taskPath = `/v1/tasks/${encodeURIComponent(entry.model)}${query === '' ? '' : `?${query}`}`;
    const headers = { 'content-type': 'image/png' };
    return Promise.all(
      Array.from({ length: BODIES_PER_ENTRY }, async () => ({ path: taskPath, headers, body: await shapesPng(body.width, body.height) })),
    );
  }
  const path = `${client.modelPath(entry.model, entry.version)}/infer`;
  if (body.from === 'files') {
    return body.files.map((file) => ({ path, headers: JSON_HEADERS, body: readFileSync(resolve(scenarioDir, file)) }));
  }
  if (body.from === 'image') {
    const config = await client.config(entry.model, entry.version);
    const input = config.inputs.find((candidate) => candidate.image !== undefined);
    if (!input) throw new Error(`${entry.model} has no image input (its config declares none), so it cannot take image bodies`);
    return Promise.all(
      Array.from({ length: BODIES_PER_ENTRY }, () => imageRequest(path, input.name, body.width, body.height, body.images_per_request)),
    );
  }
  const metadata = await client.metadata(entry.model, entry.version);
  return Array.from({ length: BODIES_PER_ENTRY }, () => ({
    path,
    headers: JSON_HEADERS,
    body: Buffer.from(
      JSON.stringify({
        inputs: metadata.inputs.map((tensor) => randomTensor(tensor, body.dynamic_dim)),
        ...(body.binary_output ? { parameters: { binary_data_output: true } } : {}),
      }),
    ),
  }));
}

function randomTensor(tensor: TensorMetadata, dynamicDim: number): { name: string; datatype: string; shape: number[]; data: unknown[] } {
  // The first -1 is the batch dimension: one row per request, as most callers send.
  const shape = tensor.shape.map((dim, i) => (dim >= 0 ? dim : i === 0 ? 1 : dynamicDim));
  const size = shape.reduce((product, dim) => product * dim, 1);
  return { name: tensor.name, datatype: tensor.datatype, shape, data: Array.from({ length: size }, () => randomValue(tensor.datatype)) };
}

function randomValue(datatype: string): unknown {
  if (datatype.startsWith('FP') || datatype === 'BF16') return Math.round((Math.random() * 2 - 1) * 1e4) / 1e4;
  if (datatype.startsWith('INT') || datatype.startsWith('UINT')) return Math.floor(Math.random() * 10);
  if (datatype === 'BOOL') return Math.random() < 0.5;
  if (datatype === 'BYTES') return 'switchyard loadtest';
  throw new Error(`cannot make random values of datatype ${datatype}`);
}

/** Random-noise PNGs as one BYTES input, in Triton's binary tensor extension. */
async function imageRequest(path: string, inputName: string, width: number, height: number, count: number): Promise<PreparedRequest> {
  const images = await Promise.all(Array.from({ length: count }, () => noisePng(width, height)));
  const { body, headers } = encodeInferRequest([{ name: inputName, datatype: 'BYTES', shape: [count], data: images }], {
    binaryOutputs: false,
  });
  return { path, headers, body: Buffer.from(body) };
}

function noisePng(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = Math.floor(Math.random() * 256);
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** Random coloured rectangles and circles on a light background: an ordinary image for pipelines that judge content. */
function shapesPng(width: number, height: number): Promise<Buffer> {
  const colour = (): string =>
    `rgb(${Math.floor(Math.random() * 256)},${Math.floor(Math.random() * 256)},${Math.floor(Math.random() * 256)})`;
  const shapes = Array.from({ length: 6 }, () => {
    const [x, y] = [Math.random() * width, Math.random() * height];
    const size = (0.1 + Math.random() * 0.3) * Math.min(width, height);
    return Math.random() < 0.5
      ? `<circle cx="${x}" cy="${y}" r="${size / 2}" fill="${colour()}"/>`
      : `<rect x="${x - size / 2}" y="${y - size / 2}" width="${size}" height="${size * 0.7}" fill="${colour()}"/>`;
  });
  const background = '<rect width="100%" height="100%" fill="#f2f2f2"/>';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${background}${shapes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
