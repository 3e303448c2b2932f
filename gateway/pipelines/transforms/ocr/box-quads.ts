import type { ScoredRect, TextBox } from './find-text-boxes.js';

/** Which image axis a page's lines run along (before telling left-to-right from right-to-left). */
export type TextAxis = 'horizontal' | 'vertical';

/** Rectangles this much longer than tall say which way their line runs; squarer ones (a word, a digit) do not. */
const ELONGATED = 1.5;

/**
 * The axis most of the page's text runs along, from the long sides of its elongated
 * boxes weighted by their length: a page photographed sideways has vertical lines.
 */
export function pageAxis(rects: readonly ScoredRect[]): TextAxis {
  let horizontal = 0;
  let vertical = 0;
  for (const rect of rects) {
    const long = Math.max(rect.along, rect.across);
    if (long < ELONGATED * Math.min(rect.along, rect.across)) continue;
    // The long side's direction: u when `along` is the longer side, else its perpendicular.
    const [dx, dy] = rect.along >= rect.across ? [rect.ux, rect.uy] : [-rect.uy, rect.ux];
    if (Math.abs(dx) >= Math.abs(dy)) horizontal += long;
    else vertical += long;
  }
  return vertical > horizontal ? 'vertical' : 'horizontal';
}

/** A unit vector: the way a page's lines run, as seen in the image. */
export interface PageDirection {
  readonly dx: number;
  readonly dy: number;
}

/**
 * The direction the page's lines run: the mean of its elongated boxes' long sides weighted
 * by length, each pointing along the page's axis (rightwards on a horizontal page, down on
 * a vertical one). A page tilted 45 degrees has it at 45 degrees, so a short word's
 * squarish box is read the same way as the lines; the bare axis read some across.
 */
export function pageDirection(rects: readonly ScoredRect[]): PageDirection {
  const axis = pageAxis(rects);
  const [ax, ay] = axis === 'horizontal' ? [1, 0] : [0, 1];
  let sumX = 0;
  let sumY = 0;
  for (const rect of rects) {
    const long = Math.max(rect.along, rect.across);
    if (long < ELONGATED * Math.min(rect.along, rect.across)) continue;
    let [dx, dy] = rect.along >= rect.across ? [rect.ux, rect.uy] : [-rect.uy, rect.ux];
    if (dx * ax + dy * ay < 0) [dx, dy] = [-dx, -dy];
    sumX += dx * long;
    sumY += dy * long;
  }
  const length = Math.hypot(sumX, sumY);
  return length > 0 ? { dx: sumX / length, dy: sumY / length } : { dx: ax, dy: ay };
}

/**
 * A rectangle as a text box read along the page's direction: of its four side directions,
 * the one closest to it is its reading direction; whether that is upside down is the
 * direction classifier's call.
 */
export function orientedBox(rect: ScoredRect, direction: PageDirection, imageWidth: number, imageHeight: number): TextBox {
  const sides = [
    { dx: rect.ux, dy: rect.uy, length: rect.along, thickness: rect.across },
    { dx: -rect.uy, dy: rect.ux, length: rect.across, thickness: rect.along },
    { dx: -rect.ux, dy: -rect.uy, length: rect.along, thickness: rect.across },
    { dx: rect.uy, dy: -rect.ux, length: rect.across, thickness: rect.along },
  ];
  const pick = (side: (typeof sides)[number]): number => side.dx * direction.dx + side.dy * direction.dy;
  const side = sides.reduce((best, candidate) => (pick(candidate) > pick(best) ? candidate : best));
  // "Down" in the line's own frame: the reading direction turned a quarter clockwise on screen.
  const nx = -side.dy;
  const ny = side.dx;
  const corner = (along: number, across: number): [number, number] => [
    clamp(rect.cx + side.dx * along + nx * across, imageWidth),
    clamp(rect.cy + side.dy * along + ny * across, imageHeight),
  ];
  const w = side.length / 2;
  const h = side.thickness / 2;
  const quad = [corner(-w, -h), corner(w, -h), corner(w, h), corner(-w, h)];
  return withBounds(quad, (Math.atan2(side.dy, side.dx) * 180) / Math.PI, rect.score, imageWidth, imageHeight);
}

/** The same box read the other way round (its line was upside down). */
export function turnedBox(box: TextBox): TextBox {
  const [a, b, c, d] = box.quad;
  const angle = box.angle > 0 ? box.angle - 180 : box.angle + 180;
  return { ...box, quad: [c!, d!, a!, b!], angle: round(angle, 100) };
}

function withBounds(quad: [number, number][], angle: number, score: number, imageWidth: number, imageHeight: number): TextBox {
  const xs = quad.map(([x]) => x);
  const ys = quad.map(([, y]) => y);
  const left = Math.max(0, Math.floor(Math.min(...xs)));
  const top = Math.max(0, Math.floor(Math.min(...ys)));
  const right = Math.min(imageWidth, Math.ceil(Math.max(...xs)));
  const bottom = Math.min(imageHeight, Math.ceil(Math.max(...ys)));
  return {
    x: left,
    y: top,
    width: Math.max(1, right - left),
    height: Math.max(1, bottom - top),
    angle: round(angle === -180 ? 180 : angle, 100),
    quad: quad.map(([x, y]) => [round(x, 10), round(y, 10)] as [number, number]),
    score,
  };
}

const clamp = (value: number, limit: number): number => Math.min(limit, Math.max(0, value));
const round = (value: number, steps: number): number => Math.round(value * steps) / steps;

/** Rectangles found in a detector map, turned into boxes read along the page's direction. */
export function orientedBoxes(rects: readonly ScoredRect[], imageWidth: number, imageHeight: number): TextBox[] {
  const direction = pageDirection(rects);
  return rects.map((rect) => orientedBox(rect, direction, imageWidth, imageHeight));
}
