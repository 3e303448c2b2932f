import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { filesInput, postBinary } from '../helpers/binary-request.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';
import { renderTextLine } from '../helpers/text-images.js';

const repository = new TestRepository().copy('text-direction');
let server: RunningServer;

beforeAll(async () => {
  // A low pixel limit, so the decompression-bomb check can be shown with a small image.
  server = await startTestGateway(repository.dir, { MAX_IMAGE_PIXELS: '100000', MAX_BODY_BYTES: '1000000' });
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

interface Answer {
  status: number;
  json: { outputs?: { shape: number[]; data: number[] }[]; code?: string; error?: string };
}

async function sendImages(images: Uint8Array[]): Promise<Answer> {
  const reply = await postBinary(`${server.url}/v2/models/text-direction/infer`, [filesInput('x', images)]);
  return { status: reply.status, json: reply.json() };
}

const rows = (answer: Answer): number[][] => {
  const [output] = answer.json.outputs!;
  return Array.from({ length: output!.shape[0]! }, (_, i) => output!.data.slice(i * 2, i * 2 + 2));
};

describe('image inputs (PaddleOCR text direction classifier, pretrained)', () => {
  it('tells upright text from text turned 180 degrees', async () => {
    for (const text of ['Hello World 42', 'Switchyard OCR', 'invoice total']) {
      const answer = await sendImages([await renderTextLine(text), await renderTextLine(text, { rotate: 180 })]);
      expect(answer.status).toBe(200);
      const [upright, turned] = rows(answer);
      expect(upright![0]).toBeGreaterThan(0.9);
      expect(turned![1]).toBeGreaterThan(0.9);
    }
  });

  it('gives the same answer as sending the preprocessed tensor itself', async () => {
    const png = await renderTextLine('same answer');
    const { data } = await sharp(png).removeAlpha().resize(192, 48, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const tensor: number[] = new Array(3 * 48 * 192);
    for (let p = 0; p < 48 * 192; p += 1)
      for (let c = 0; c < 3; c += 1) tensor[c * 48 * 192 + p] = (data[p * 3 + (2 - c)]! / 255 - 0.5) / 0.5;
    const direct = await post(`${server.url}/v2/models/text-direction/infer`, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: tensor }],
    });
    const viaImage = await sendImages([png]);
    const expected = (direct.json.outputs as { data: number[] }[])[0]!.data;
    rows(viaImage)[0]!.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
  });

  it('reads JPEG and WebP too', async () => {
    const answer = await sendImages([
      await renderTextLine('jpeg line', { format: 'jpeg' }),
      await renderTextLine('webp line', { format: 'webp', rotate: 180 }),
    ]);
    expect(answer.status).toBe(200);
    expect(rows(answer)[0]![0]).toBeGreaterThan(0.9);
    expect(rows(answer)[1]![1]).toBeGreaterThan(0.9);
  });

  it.each([
    ['an empty image', async () => new Uint8Array(0), /image 1 is empty/],
    ['random bytes', async () => new Uint8Array(300).map((_, i) => (i * 37) % 251), /cannot be decoded|unknown format/],
    ['a truncated PNG', async () => (await renderTextLine('cut short')).subarray(0, 200), /cannot be decoded/],
    [
      'a GIF',
      async () =>
        sharp({ create: { width: 40, height: 10, channels: 3, background: 'white' } })
          .gif()
          .toBuffer(),
      /is gif: send PNG, JPEG or WebP/,
    ],
    // Refused by its first bytes: libvips would parse an SVG whole first (seconds for a large one).
    [
      'an SVG',
      async () => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1" height="1"/>'.repeat(20_000)}</svg>`),
      /is svg or other text: send PNG/,
    ],
    [
      'a TIFF',
      async () =>
        sharp({ create: { width: 40, height: 10, channels: 3, background: 'white' } })
          .tiff()
          .toBuffer(),
      /is tiff: send PNG/,
    ],
  ])('400 invalid_media for %s, and the server keeps serving', async (_name, make, message) => {
    const answer = await sendImages([await renderTextLine('fine'), await make()]);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('invalid_media');
    expect(answer.json.error).toMatch(message);
    expect((await sendImages([await renderTextLine('still fine')])).status).toBe(200);
  });

  it('413 image_too_large above MAX_IMAGE_PIXELS, refused before decoding', async () => {
    const answer = await sendImages([await renderTextLine('big', { width: 1000, height: 200 })]);
    expect(answer).toMatchObject({ status: 413, json: { code: 'image_too_large' } });
  });

  it('400 for images in the wrong shape or beyond the batch limit', async () => {
    const png = await renderTextLine('x');
    const wrongShape = await postBinary(`${server.url}/v2/models/text-direction/infer`, [{ ...filesInput('x', [png]), shape: [1, 1] }]);
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.json<{ code: string }>().code).toBe('shape_mismatch');
    expect((await sendImages(new Array(33).fill(png))).json.code).toBe('batch_too_large');
  });

  it('takes a raw image body (Content-Type image/png, image/jpeg, image/webp)', async () => {
    for (const [format, type] of [
      ['png', 'image/png'],
      ['jpeg', 'image/jpeg'],
      ['webp', 'image/webp'],
    ] as const) {
      const response = await fetch(`${server.url}/v2/models/text-direction/infer`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: await renderTextLine('raw body line', { format, rotate: 180 }),
      });
      expect(response.status, format).toBe(200);
      const body = (await response.json()) as Answer['json'];
      expect(body.outputs![0]!.shape).toEqual([1, 2]);
      expect(body.outputs![0]!.data[1]).toBeGreaterThan(0.9);
    }
  });

  it('tells a caller who sends an image or a WAV file as application/octet-stream to a model what to send instead', async () => {
    const post = (body: Uint8Array) =>
      fetch(`${server.url}/v2/models/text-direction/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
      });
    const image = await post(await renderTextLine('sent as octet-stream'));
    expect(image.status).toBe(415);
    expect(await image.json()).toMatchObject({ code: 'unsupported_media_type', error: expect.stringMatching(/send it as image\/png/) });
    const wav = await post(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'));
    expect(await wav.json()).toMatchObject({ code: 'unsupported_media_type', error: expect.stringMatching(/goes to pipelines/) });
  });

  it('takes multipart uploads: files named after the input (several make a batch), options in `request`', async () => {
    const form = new FormData();
    form.append('x', new Blob([await renderTextLine('first')], { type: 'image/png' }), 'a.png');
    form.append('x', new Blob([await renderTextLine('second', { rotate: 180 })], { type: 'image/png' }), 'b.png');
    form.append('request', JSON.stringify({ id: 'form-1', outputs: [{ name: 'softmax_0.tmp_0' }] }));
    const response = await fetch(`${server.url}/v2/models/text-direction/infer`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const answer = { status: response.status, json: (await response.json()) as Answer['json'] & { id?: string } };
    expect(answer.json.id).toBe('form-1');
    const [first, second] = rows(answer);
    expect(first![0]).toBeGreaterThan(0.9);
    expect(second![1]).toBeGreaterThan(0.9);
  });

  it('400s for multipart mistakes, 415 for an image body to a model without one image input', async () => {
    const wrongField = new FormData();
    wrongField.append('picture', new Blob([await renderTextLine('x')], { type: 'image/png' }), 'a.png');
    const reply = await fetch(`${server.url}/v2/models/text-direction/infer`, { method: 'POST', body: wrongField });
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { code: string }).code).toBe('unknown_input');
    const noFiles = new FormData();
    noFiles.append('request', '{}');
    expect((await fetch(`${server.url}/v2/models/text-direction/infer`, { method: 'POST', body: noFiles })).status).toBe(400);
    const badOptions = new FormData();
    badOptions.append('x', new Blob([await renderTextLine('x')], { type: 'image/png' }), 'a.png');
    badOptions.append('request', '{not json');
    const bad = await fetch(`${server.url}/v2/models/text-direction/infer`, { method: 'POST', body: badOptions });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('invalid_json');
  });

  it('400 for a malformed multipart body, 413 for a file over MAX_BODY_BYTES', async () => {
    const broken = await fetch(`${server.url}/v2/models/text-direction/infer`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' }, // no boundary
      body: 'garbage',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { code: string }).code).toBe('invalid_request');
    const big = new FormData();
    big.append('x', new Blob([new Uint8Array(1_200_000)], { type: 'image/png' }), 'big.png');
    const tooBig = await fetch(`${server.url}/v2/models/text-direction/infer`, { method: 'POST', body: big });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { code: string }).code).toBe('body_too_large');
    expect((await sendImages([await renderTextLine('still serving')])).status).toBe(200);
  });
});
