/** An axis-aligned box in image pixels, with the detector's mean probability inside it. */
export interface TextBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
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
  /** Most boxes kept (the highest scoring), bounding the work a noisy image causes. */
  readonly maxBoxes: number;
}

interface Region {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/**
 * DB post-processing, simplified to axis-aligned boxes: threshold the map, take
 * 8-connected regions, score each by the mean probability over its bounding box, grow
 * it by the unclip distance and scale it to the original image. Rotated or curved text
 * is boxed by its bounding rectangle, which reads poorly; only horizontal lines (and
 * lines turned 180 degrees) are handled.
 */
export function findTextBoxes(map: ProbabilityMap, imageWidth: number, imageHeight: number, search: BoxSearch): TextBox[] {
  const candidates: TextBox[] = [];
  const scaleX = imageWidth / map.width;
  const scaleY = imageHeight / map.height;
  for (const region of connectedRegions(map, search.threshold)) {
    const width = region.maxX - region.minX + 1;
    const height = region.maxY - region.minY + 1;
    if (Math.min(width, height) < search.minSide) continue;
    const score = meanInside(map, region);
    if (score < search.boxThreshold) continue;
    const grow = (width * height * search.unclipRatio) / (2 * (width + height));
    if (Math.min(width, height) + 2 * grow < search.minSide + 2) continue;
    const left = Math.max(0, Math.floor((region.minX - grow) * scaleX));
    const top = Math.max(0, Math.floor((region.minY - grow) * scaleY));
    const right = Math.min(imageWidth, Math.ceil((region.maxX + 1 + grow) * scaleX));
    const bottom = Math.min(imageHeight, Math.ceil((region.maxY + 1 + grow) * scaleY));
    if (right - left < 1 || bottom - top < 1) continue;
    candidates.push({ x: left, y: top, width: right - left, height: bottom - top, score });
  }
  return candidates.sort((a, b) => b.score - a.score).slice(0, search.maxBoxes);
}

/** Bounding rectangles of the 8-connected regions at or above the threshold. */
export function connectedRegions(map: ProbabilityMap, threshold: number): Region[] {
  const { data, width, height } = map;
  const visited = new Uint8Array(width * height);
  const stack: number[] = [];
  const regions: Region[] = [];
  for (let start = 0; start < data.length; start += 1) {
    if (visited[start] || data[start]! < threshold) continue;
    const region = { minX: width, minY: height, maxX: -1, maxY: -1 };
    visited[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const at = stack.pop()!;
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
    regions.push(region);
  }
  return regions;
}

function meanInside(map: ProbabilityMap, region: Region): number {
  let sum = 0;
  for (let y = region.minY; y <= region.maxY; y += 1) {
    const row = y * map.width;
    for (let x = region.minX; x <= region.maxX; x += 1) sum += map.data[row + x]!;
  }
  return sum / ((region.maxX - region.minX + 1) * (region.maxY - region.minY + 1));
}
