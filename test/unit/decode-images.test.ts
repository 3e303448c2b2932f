import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImages } from '../../workers/media/decode-images.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';

/** A 4x2 PNG: left half white, right half black. */
async function halfWhite(): Promise<Buffer> {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><rect width="4" height="2" fill="black"/><rect width="2" height="2" fill="white"/></svg>';
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function imageSpec(image: Record<string, unknown>, shape: number[]) {
  const config = modelConfigSchema.parse({
    name: 'm',
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 4,
    inputs: [{ name: 'x', datatype: 'FP32', shape, image }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }],
    price: { usd_per_compute_second: 0 },
  });
  return config.inputs[0]!.image!;
}

describe('grayscale image inputs', () => {
  it('decodes to one normalised channel, NHWC or NCHW', async () => {
    const png = await halfWhite();
    const tensor = { name: 'x', datatype: 'BYTES' as const, shape: [2], data: encodeBytesElements([png, png]) };
    const nhwc = await decodeImages(
      tensor,
      imageSpec({ width: 4, height: 2, channels: 1, layout: 'NHWC', mean: [0.5], std: [0.5] }, [2, 4, 1]),
      1_000_000,
    );
    expect(nhwc.shape).toEqual([2, 2, 4, 1]);
    // White maps to (1 - 0.5) / 0.5 = 1, black to -1; row-major, left half white.
    expect([...nhwc.data]).toEqual([...[1, 1, -1, -1, 1, 1, -1, -1], ...[1, 1, -1, -1, 1, 1, -1, -1]]);
    const nchw = await decodeImages(tensor, imageSpec({ width: 4, height: 2, channels: 1 }, [1, 2, 4]), 1_000_000);
    expect(nchw.shape).toEqual([2, 1, 2, 4]);
    expect([...nchw.data].slice(0, 8)).toEqual([1, 1, 0, 0, 1, 1, 0, 0]);
  });

  it('still decodes three channels by default', async () => {
    const tensor = { name: 'x', datatype: 'BYTES' as const, shape: [1], data: encodeBytesElements([await halfWhite()]) };
    const rgb = await decodeImages(tensor, imageSpec({ width: 4, height: 2 }, [3, 2, 4]), 1_000_000);
    expect(rgb.shape).toEqual([1, 3, 2, 4]);
    expect([...rgb.data].slice(0, 4)).toEqual([1, 1, 0, 0]);
  });
});

describe('images with transparency and animations', () => {
  const spec = () => imageSpec({ width: 8, height: 8, mean: [0, 0, 0], std: [1, 1, 1] }, [3, 8, 8]);
  const decoded = async (png: Buffer) => [
    ...(await decodeImages({ name: 'x', datatype: 'BYTES', shape: [1], data: encodeBytesElements([png]) }, spec(), 1_000_000)).data,
  ];
  /** An 8x8 square with a 4x4 block of `ink` in the middle, on `background` (none: transparent). */
  const drawing = (ink: string, background?: string) =>
    sharp(
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">${background ? `<rect width="8" height="8" fill="${background}"/>` : ''}<rect x="2" y="2" width="4" height="4" fill="${ink}"/></svg>`,
      ),
    )
      .png()
      .toBuffer();

  it('shows dark drawings on a transparent background against white, as a page shows them', async () => {
    const transparent = await drawing('black');
    expect((await sharp(transparent).metadata()).hasAlpha).toBe(true);
    expect(await decoded(transparent)).toEqual(await decoded(await drawing('black', 'white')));
    // Not the black square that dropping alpha gave (transparent pixels are stored as black).
    expect(await decoded(transparent)).not.toEqual(await decoded(await drawing('black', 'black')));
  });

  it('shows light drawings on a transparent background against black, and an empty image as white', async () => {
    expect(await decoded(await drawing('white'))).toEqual(await decoded(await drawing('white', 'black')));
    const empty = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    expect(new Set(await decoded(empty))).toEqual(new Set([1]));
  });

  it('refuses an animation rather than judging it by its first frame', async () => {
    const frame = (colour: string) =>
      sharp({ create: { width: 8, height: 8, channels: 3, background: colour } })
        .png()
        .toBuffer();
    const animated = await sharp([await frame('white'), await frame('black')], { join: { animated: true } })
      .webp({ loop: 0, delay: [100, 5000] })
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    const tensor = { name: 'x', datatype: 'BYTES' as const, shape: [1], data: encodeBytesElements([animated]) };
    await expect(decodeImages(tensor, spec(), 1_000_000)).rejects.toMatchObject({
      code: 'invalid_media',
      message: /animated \(2 frames\)/,
    });
  });
});
