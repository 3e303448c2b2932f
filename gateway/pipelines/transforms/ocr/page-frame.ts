export interface Placed {
  readonly box: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly angle?: number;
    readonly quad?: readonly (readonly [number, number])[];
  };
}

/** A box in the page's own frame (turned and deskewed), shrunk to the text core the detector marked. */
export interface FrameBox {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly centreY: number;
  readonly height: number;
}

/** How far the page is turned: a quarter-turn `orientation` (0, 90, 180, 270, clockwise) plus a small skew. */
export interface PageFrame {
  readonly orientation: 0 | 90 | 180 | 270;
  /** The page's exact turn in degrees (orientation plus skew). */
  readonly angle: number;
}

/** Unclipped boxes are about 2.5 core heights tall; this much of the height on each side is margin. */
const MARGIN = 0.3;

/** The page's turn from its lines' reading directions, weighted by their length. */
export function pageFrame(items: readonly Placed[]): PageFrame {
  let x = 0;
  let y = 0;
  for (const { box } of items) {
    const radians = ((box.angle ?? 0) * Math.PI) / 180;
    // Quadrupled angles average quarter-turns together; the quarter is chosen after.
    x += Math.cos(4 * radians) * box.width;
    y += Math.sin(4 * radians) * box.width;
  }
  const skew = x === 0 && y === 0 ? 0 : Math.atan2(y, x) / 4;
  const quarter = [0, 0, 0, 0];
  for (const { box } of items) {
    const turned = ((box.angle ?? 0) * Math.PI) / 180 - skew;
    const index = ((Math.round(turned / (Math.PI / 2)) % 4) + 4) % 4;
    quarter[index]! += box.width;
  }
  const best = quarter.indexOf(Math.max(...quarter));
  const orientation = ([0, 90, 180, 270] as const)[best]!;
  const angle = orientation + (skew * 180) / Math.PI;
  return { orientation, angle: angle > 180 ? angle - 360 : angle };
}

/** An item's box in the page frame: its centre turned back by the page's angle, its own length and thickness. */
export function frameBox(item: Placed, frame: PageFrame): FrameBox {
  const { box } = item;
  const quad = box.quad;
  const [cx, cy, length, thickness] =
    quad && quad.length === 4
      ? [
          quad.reduce((sum, [x]) => sum + x, 0) / 4,
          quad.reduce((sum, [, y]) => sum + y, 0) / 4,
          Math.hypot(quad[1]![0] - quad[0]![0], quad[1]![1] - quad[0]![1]),
          Math.hypot(quad[3]![0] - quad[0]![0], quad[3]![1] - quad[0]![1]),
        ]
      : [box.x + box.width / 2, box.y + box.height / 2, box.width, box.height];
  const radians = (frame.angle * Math.PI) / 180;
  const x = cx * Math.cos(radians) + cy * Math.sin(radians);
  const y = -cx * Math.sin(radians) + cy * Math.cos(radians);
  const margin = thickness * MARGIN;
  const halfLength = Math.max(length / 2 - margin, length / 4);
  const halfThickness = Math.max(thickness / 2 - margin, thickness / 8);
  return {
    left: x - halfLength,
    right: x + halfLength,
    top: y - halfThickness,
    bottom: y + halfThickness,
    centreY: y,
    height: 2 * halfThickness,
  };
}
