import { describe, expect, it } from 'vitest';
import { orientedBoxes } from '../../gateway/pipelines/transforms/ocr/box-quads.js';
import {
  findTextRects,
  type BoxSearch,
  type ProbabilityMap,
  type TextBox,
} from '../../gateway/pipelines/transforms/ocr/find-text-boxes.js';

const findTextBoxes = (map: ProbabilityMap, width: number, height: number, search: BoxSearch): TextBox[] =>
  orientedBoxes(findTextRects(map, width, height, search).rects, width, height);

const SEARCH: BoxSearch = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSide: 3, maxBoxes: 1000 };

/** A map of the given size with rectangles [x, y, width, height] filled at a probability. */
function mapWith(
  width: number,
  height: number,
  rectangles: readonly (readonly [number, number, number, number, number])[],
): ProbabilityMap {
  const data = new Float32Array(width * height).fill(0.02);
  for (const [x0, y0, w, h, probability] of rectangles) {
    for (let y = y0; y < y0 + h; y += 1) for (let x = x0; x < x0 + w; x += 1) data[y * width + x] = probability;
  }
  return { data, width, height };
}

describe('findTextRects + orientedBoxes (DB post-processing)', () => {
  it('grows a region by area * ratio / perimeter on every side', () => {
    const [box] = findTextBoxes(mapWith(100, 50, [[20, 10, 40, 10, 0.9]]), 100, 50, SEARCH);
    // 40 x 10: grow = 400 * 1.5 / 100 = 6.
    expect(box).toMatchObject({
      x: 14,
      y: 4,
      width: 52,
      height: 22,
      angle: 0,
      quad: [
        [14, 4],
        [66, 4],
        [66, 26],
        [14, 26],
      ],
    });
    expect(box!.score).toBeCloseTo(0.9, 5);
  });

  it('scales boxes from the map to the original image and clamps them to it', () => {
    const [box] = findTextBoxes(mapWith(64, 32, [[0, 0, 20, 8, 0.95]]), 640, 320, SEARCH);
    // 20 x 8: grow = 160 * 1.5 / 56 ≈ 4.29, so the left and top edges fall outside and are clamped.
    expect(box!.x).toBe(0);
    expect(box!.y).toBe(0);
    expect(box!.width).toBe(Math.ceil((20 + (160 * 1.5) / 56) * 10));
    expect(box!.height).toBe(Math.ceil((8 + (160 * 1.5) / 56) * 10));
  });

  it('keeps separate regions apart and joins diagonal neighbours into one', () => {
    const map = mapWith(100, 60, [
      [5, 5, 30, 8, 0.9],
      [60, 5, 30, 8, 0.9],
      [5, 40, 10, 6, 0.9],
      [15, 46, 10, 6, 0.9],
    ]);
    // The diagonal pair fills half its bounding box, so a lower box threshold keeps it.
    const boxes = findTextBoxes(map, 100, 60, { ...SEARCH, boxThreshold: 0.4 });
    expect(boxes).toHaveLength(3);
    const joined = boxes.find((box) => box.y > 30)!;
    expect(joined.x).toBeLessThanOrEqual(5);
    expect(joined.x + joined.width).toBeGreaterThanOrEqual(25);
    expect(joined.y + joined.height).toBeGreaterThanOrEqual(52);
  });

  it('drops weak regions, tiny specks and sparse regions', () => {
    const weak = mapWith(100, 50, [[10, 10, 40, 10, 0.45]]);
    expect(findTextBoxes(weak, 100, 50, SEARCH)).toEqual([]);
    const speck = mapWith(100, 50, [[10, 10, 2, 2, 0.99]]);
    expect(findTextBoxes(speck, 100, 50, SEARCH)).toEqual([]);
    // An L-shaped region: sure pixels, but they cover a tenth of its rectangle.
    const sparse = mapWith(100, 100, [
      [0, 0, 60, 3, 0.9],
      [0, 0, 3, 60, 0.9],
    ]);
    expect(findTextBoxes(sparse, 100, 100, SEARCH)).toEqual([]);
  });

  it('keeps a thin bowed band, as a tilted line comes out of the detector, though it leaves its rectangle 40 % empty', () => {
    // 200 x 5 px band, tilted 30 degrees and bowed 4 px at its middle, drawn at probability 0.95.
    const width = 240;
    const height = 160;
    const data = new Float32Array(width * height).fill(0.02);
    const turn = (30 * Math.PI) / 180;
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const dx = x + 0.5 - 120;
        const dy = y + 0.5 - 80;
        const along = dx * Math.cos(turn) + dy * Math.sin(turn);
        const across = -dx * Math.sin(turn) + dy * Math.cos(turn);
        const bow = 4 * (1 - (along / 100) ** 2);
        if (Math.abs(along) <= 100 && Math.abs(across - bow) <= 2.5) data[y * width + x] = 0.95;
      }
    }
    const rects = findTextRects({ data, width, height }, width, height, SEARCH).rects;
    expect(rects).toHaveLength(1);
    expect(rects[0]!.score).toBeCloseTo(0.95, 5);
  });

  it("reads a squarish word's box along the page's lines, also on a page tilted 46 degrees", () => {
    const turn = (46 * Math.PI) / 180;
    const [ux, uy] = [Math.cos(turn), Math.sin(turn)];
    const line = (cx: number, cy: number, along: number) => ({ cx, cy, ux, uy, along, across: 20, score: 0.9 });
    // A short word, almost square, whose rectangle came out 6 degrees off the lines: the bare axis
    // (vertical here, the lines' long sides being more vertical than not) read it downwards, at 130 degrees.
    const off = (40 * Math.PI) / 180;
    const word = { cx: 300, cy: 300, ux: Math.cos(off), uy: Math.sin(off), along: 22, across: 24, score: 0.9 };
    const [first, second, short] = orientedBoxes([line(200, 200, 300), line(250, 150, 280), word], 600, 600);
    expect(first!.angle).toBeCloseTo(46, 0);
    expect(second!.angle).toBeCloseTo(46, 0);
    expect(short!.angle).toBeCloseTo(40, 0);
    // Level pages keep reading rightwards, and sideways pages downwards.
    const level = orientedBoxes([{ cx: 100, cy: 50, ux: -1, uy: 0, along: 150, across: 20, score: 0.9 }], 300, 100);
    expect(level[0]!.angle).toBeCloseTo(0, 5);
    const sideways = orientedBoxes([{ cx: 50, cy: 100, ux: 0, uy: -1, along: 150, across: 20, score: 0.9 }], 100, 300);
    expect(sideways[0]!.angle).toBeCloseTo(90, 5);
  });

  it('finds nothing in an empty map and keeps only the best maxBoxes, counting the rest', () => {
    expect(findTextBoxes(mapWith(40, 40, []), 40, 40, SEARCH)).toEqual([]);
    const map = mapWith(100, 20, [
      [2, 5, 10, 6, 0.7],
      [30, 5, 10, 6, 0.95],
      [60, 5, 10, 6, 0.8],
    ]);
    const best = findTextBoxes(map, 100, 20, { ...SEARCH, maxBoxes: 2 });
    expect(best.map((box) => box.score.toFixed(2))).toEqual(['0.95', '0.80']);
    expect(findTextRects(map, 100, 20, { ...SEARCH, maxBoxes: 2 }).leftOut).toBe(1);
    expect(findTextRects(map, 100, 20, SEARCH).leftOut).toBe(0);
  });

  it('fits a tilted line with a rotated rectangle: its angle, a quad along it, bounds around the quad', () => {
    // A 60 x 6 bar turned by 10 degrees (clockwise on screen), drawn pixel by pixel.
    const width = 120;
    const height = 60;
    const data = new Float32Array(width * height).fill(0.02);
    const turn = (10 * Math.PI) / 180;
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const dx = x + 0.5 - 60;
        const dy = y + 0.5 - 30;
        const along = dx * Math.cos(turn) + dy * Math.sin(turn);
        const across = -dx * Math.sin(turn) + dy * Math.cos(turn);
        if (Math.abs(along) <= 30 && Math.abs(across) <= 3) data[y * width + x] = 0.9;
      }
    }
    const [box] = findTextBoxes({ data, width, height }, width, height, SEARCH);
    expect(box!.angle).toBeGreaterThan(8);
    expect(box!.angle).toBeLessThan(12);
    // Mean over the region itself: the background the bar's jagged edges leave in its rectangle
    // (0.75 there) or in its axis-aligned bounding box (about 0.34) is not counted.
    expect(box!.score).toBeCloseTo(0.9, 5);
    const [tl, tr, br, bl] = box!.quad;
    expect(Math.hypot(tr![0] - tl![0], tr![1] - tl![1])).toBeGreaterThan(60);
    expect(tr![1]).toBeGreaterThan(tl![1]);
    expect(bl![1]).toBeGreaterThan(tl![1]);
    for (const [x, y] of [tl!, tr!, br!, bl!]) {
      expect(x).toBeGreaterThanOrEqual(box!.x);
      expect(x).toBeLessThanOrEqual(box!.x + box!.width);
      expect(y).toBeGreaterThanOrEqual(box!.y);
      expect(y).toBeLessThanOrEqual(box!.y + box!.height);
    }
  });

  it("reads boxes downwards when the page's long boxes run vertically (a page turned a quarter)", () => {
    const map = mapWith(60, 120, [
      [10, 10, 6, 80, 0.9],
      [30, 10, 6, 60, 0.9],
      [48, 10, 6, 8, 0.9],
    ]);
    const boxes = findTextBoxes(map, 60, 120, SEARCH);
    expect(boxes).toHaveLength(3);
    // The near-square box follows the page's axis too.
    for (const box of boxes) expect(box.angle).toBe(90);
  });
});
