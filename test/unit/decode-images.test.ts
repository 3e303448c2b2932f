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
