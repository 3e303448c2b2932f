import { describe, expect, it } from 'vitest';
import { warpQuad } from '../../gateway/pipelines/transforms/ocr/warp-quad.js';

/** An image whose red channel is x and green channel y, so a sample says where it was taken. */
function coordinates(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) data.set([x, y, 7], (y * width + x) * 3);
  return { data, width, height };
}

const at = (image: { data: Uint8Array; width: number }, x: number, y: number): number[] => [
  ...image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3),
];

describe('warpQuad (bilinear upright crop)', () => {
  it('copies an axis-aligned quad pixel for pixel', () => {
    const crop = warpQuad(coordinates(40, 30), [
      [10, 5],
      [30, 5],
      [30, 15],
      [10, 15],
    ]);
    expect([crop.width, crop.height]).toEqual([20, 10]);
    expect(at(crop, 0, 0)).toEqual([10, 5, 7]);
    expect(at(crop, 19, 9)).toEqual([29, 14, 7]);
  });

  it("turns a quad read downwards upright: its first row is the image's column on the right of the line", () => {
    // A line running down the image (angle 90): top-left is at (20, 5), top-right at (20, 25).
    const crop = warpQuad(coordinates(40, 30), [
      [20, 5],
      [20, 25],
      [10, 25],
      [10, 5],
    ]);
    expect([crop.width, crop.height]).toEqual([20, 10]);
    expect(at(crop, 0, 0)).toEqual([19, 5, 7]);
    expect(at(crop, 19, 0)).toEqual([19, 24, 7]);
    expect(at(crop, 0, 9)).toEqual([10, 5, 7]);
  });

  it('interpolates between pixels and repeats the edge outside the image', () => {
    const half = warpQuad(coordinates(40, 30), [
      [10.5, 5],
      [12.5, 5],
      [12.5, 6],
      [10.5, 6],
    ]);
    expect(at(half, 0, 0)).toEqual([11, 5, 7]);
    const outside = warpQuad(coordinates(40, 30), [
      [-10, -10],
      [0, -10],
      [0, 0],
      [-10, 0],
    ]);
    expect(at(outside, 0, 0)).toEqual([0, 0, 7]);
  });
});
