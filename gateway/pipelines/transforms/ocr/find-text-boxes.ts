import { convexHull, type Point } from './convex-hull.js';
import { minAreaRect, type RotatedRect } from './min-area-rect.js';

/**
 * A text box in image pixels: the rotated rectangle around a line (`quad`, corners
 * top-left, top-right, bottom-right, bottom-left in the line's own reading frame), its
 * reading direction (`angle`, degrees from the image's x axis, clockwise as seen, in
 * (-180, 180]) and axis-aligned bounds x/y/width/height, with the detector's mean
 * probability over the region it came from.
 */
export interface TextBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly angle: number;
  readonly quad: readonly (readonly [number, number])[];
  readonly score: number;
}

export interface ProbabilityMap {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

export interface BoxSearch {
  /** Pixels at or above this probability are text. */
  readonly threshold: number;
  /** Boxes whose mean probability is lower are dropped. */
  readonly boxThreshold: number;
  /** The detector marks a shrunk core of each text region; boxes grow back by area * ratio / perimeter. */
  readonly unclipRatio: number;
  /** Boxes with a shorter side (in map pixels) are noise. */
  readonly minSide: number;
  /** Most boxes kept (the highest scoring), bounding the work a dense or noisy image causes. */
  readonly maxBoxes: number;
}

/** A found region's rectangle in image pixels, before its reading direction is chosen. */
export interface ScoredRect extends RotatedRect {
  readonly score: number;
}

/** The rectangles kept, best first, and how many more passed every test but the `maxBoxes` cap. */
export interface FoundRects {
  readonly rects: ScoredRect[];
  readonly leftOut: number;
}

/**
 * The least share of its rectangle a region must cover. A tilted line's region is a thin,
 * slightly bowed band that covers about 60 % of its rectangle at 30 degrees (all of it when
 * level); an L of two strokes covers about a tenth.
 */
const MIN_FILL = 0.3;

/**
 * DB post-processing as PaddleOCR does it: threshold the map, take 8-connected regions,
 * fit each the minimum-area rotated rectangle, score it by the mean probability over the
 * region itself (PaddleOCR's "slow" score mode: the mean over the rectangle, its "fast"
 * mode, counts the background a tilted line's bowed band leaves in its rectangle, and cut
 * lines tilted 30 degrees under the 0.6 threshold), grow it by the unclip distance
 * (area * ratio / perimeter on every side) and scale it to the original image. Past `maxBoxes` the lowest scoring are left
 * out and counted, so a caller can be told the page was not read whole.
 */
export function findTextRects(map: ProbabilityMap, imageWidth: number, imageHeight: number, search: BoxSearch): FoundRects {
  const candidates: ScoredRect[] = [];
  const scaleX = imageWidth / map.width;
  const scaleY = imageHeight / map.height;
  for (const region of connectedRegions(map, search.threshold)) {
    if (Math.min(region.maxX - region.minX, region.maxY - region.minY) + 1 < search.minSide) continue;
    const rect = minAreaRect(convexHull(region.outline));
    if (Math.min(rect.along, rect.across) < search.minSide) continue;
    // A sparse shape (an L, a cross) is no line of text, however sure each of its pixels is.
    if (region.pixels < MIN_FILL * rect.along * rect.across) continue;
    const score = region.sum / region.pixels;
    if (score < search.boxThreshold) continue;
    const grow = (rect.along * rect.across * search.unclipRatio) / (2 * (rect.along + rect.across));
    const grown = { ...rect, along: rect.along + 2 * grow, across: rect.across + 2 * grow };
    if (Math.min(grown.along, grown.across) < search.minSide + 2) continue;
    candidates.push({ ...scaleRect(grown, scaleX, scaleY), score });
  }
  candidates.sort((a, b) => b.score - a.score);
  return { rects: candidates.slice(0, search.maxBoxes), leftOut: Math.max(0, candidates.length - search.maxBoxes) };
}

/** A map-space rectangle in image pixels; unequal scales turn it slightly, so its sides are measured again. */
function scaleRect(rect: RotatedRect, scaleX: number, scaleY: number): RotatedRect {
  const alongX = rect.ux * rect.along * scaleX;
  const alongY = rect.uy * rect.along * scaleY;
  const along = Math.hypot(alongX, alongY);
  const ux = along > 0 ? alongX / along : 1;
  const uy = along > 0 ? alongY / along : 0;
  // The across side's length measured perpendicular to the scaled along side (area is kept).
  const across = along > 0 ? (rect.along * rect.across * scaleX * scaleY) / along : rect.across * scaleY;
  return { cx: rect.cx * scaleX, cy: rect.cy * scaleY, ux, uy, along, across };
}

interface Region {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  /** Corners of every row's run of pixels: enough for the region's convex hull. */
  outline: Point[];
  /** How many pixels it has, and their probabilities' sum. */
  pixels: number;
  sum: number;
}

/** The 8-connected regions at or above the threshold, with their bounds and outline points. */
export function connectedRegions(map: ProbabilityMap, threshold: number): Region[] {
  const { data, width, height } = map;
  const visited = new Uint8Array(width * height);
  const stack: number[] = [];
  const pixels: number[] = [];
  const regions: Region[] = [];
  for (let start = 0; start < data.length; start += 1) {
    if (visited[start] || data[start]! < threshold) continue;
    const region: Region = { minX: width, minY: height, maxX: -1, maxY: -1, outline: [], pixels: 0, sum: 0 };
    visited[start] = 1;
    stack.push(start);
    pixels.length = 0;
    while (stack.length > 0) {
      const at = stack.pop()!;
      pixels.push(at);
      region.sum += data[at]!;
      const x = at % width;
      const y = (at - x) / width;
      region.minX = Math.min(region.minX, x);
      region.maxX = Math.max(region.maxX, x);
      region.minY = Math.min(region.minY, y);
      region.maxY = Math.max(region.maxY, y);
      for (let dy = -1; dy <= 1; dy += 1) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const next = ny * width + nx;
          if (visited[next] || data[next]! < threshold) continue;
          visited[next] = 1;
          stack.push(next);
        }
      }
    }
    region.outline = rowRunCorners(pixels, width, region.minY, region.maxY);
    region.pixels = pixels.length;
    regions.push(region);
  }
  return regions;
}

function rowRunCorners(pixels: readonly number[], width: number, minY: number, maxY: number): Point[] {
  const rows = maxY - minY + 1;
  const left = new Int32Array(rows).fill(width);
  const right = new Int32Array(rows).fill(-1);
  for (const at of pixels) {
    const x = at % width;
    const row = (at - x) / width - minY;
    if (x < left[row]!) left[row] = x;
    if (x > right[row]!) right[row] = x;
  }
  const corners: Point[] = [];
  for (let row = 0; row < rows; row += 1) {
    const y = minY + row;
    corners.push({ x: left[row]!, y }, { x: right[row]! + 1, y }, { x: left[row]!, y: y + 1 }, { x: right[row]! + 1, y: y + 1 });
  }
  return corners;
}
