import type { Point } from './convex-hull.js';

/** A rectangle at any angle: its centre, the unit vector along one side, and its extent along and across it. */
export interface RotatedRect {
  readonly cx: number;
  readonly cy: number;
  /** Unit vector of the `along` side; the `across` side runs along (-uy, ux). */
  readonly ux: number;
  readonly uy: number;
  readonly along: number;
  readonly across: number;
}

const dot = (a: Point, x: number, y: number): number => a.x * x + a.y * y;

/**
 * The smallest-area rectangle holding a convex polygon, by rotating calipers: one side
 * of the best rectangle lies on a hull edge, and as the edges turn, the extreme points
 * along, against and across each edge only move forward, so the search is linear.
 */
export function minAreaRect(hull: readonly Point[]): RotatedRect {
  const n = hull.length;
  if (n === 0) return { cx: 0, cy: 0, ux: 1, uy: 0, along: 0, across: 0 };
  if (n === 1) return { cx: hull[0]!.x, cy: hull[0]!.y, ux: 1, uy: 0, along: 0, across: 0 };
  const at = (index: number): Point => hull[index % n]!;
  let best: RotatedRect | undefined;
  let bestArea = Infinity;
  let right = 0;
  let far = 0;
  let left = 0;
  for (let edge = 0; edge < n; edge += 1) {
    const from = at(edge);
    const to = at(edge + 1);
    const length = Math.hypot(to.x - from.x, to.y - from.y);
    if (length === 0) continue;
    const ux = (to.x - from.x) / length;
    const uy = (to.y - from.y) / length;
    // The normal pointing into the hull's side of the edge (either winding).
    let vx = -uy;
    let vy = ux;
    if (n > 2 && dot(at(edge + 2), vx, vy) < dot(from, vx, vy)) {
      vx = -vx;
      vy = -vy;
    }
    if (edge === 0) {
      right = edge + 1;
      far = edge + 1;
      left = edge;
      for (let k = 0; k < n; k += 1) {
        if (dot(at(k), ux, uy) > dot(at(right), ux, uy)) right = k;
        if (dot(at(k), vx, vy) > dot(at(far), vx, vy)) far = k;
        if (dot(at(k), ux, uy) < dot(at(left), ux, uy)) left = k;
      }
    } else {
      // Each extreme comes after the previous one going round, so each starts where that one stopped.
      right = Math.max(right, edge + 1);
      for (let guard = 0; guard < n && dot(at(right + 1), ux, uy) >= dot(at(right), ux, uy) - 1e-9; guard += 1) right += 1;
      far = Math.max(far, right);
      for (let guard = 0; guard < n && dot(at(far + 1), vx, vy) >= dot(at(far), vx, vy) - 1e-9; guard += 1) far += 1;
      left = Math.max(left, far);
      for (let guard = 0; guard < n && dot(at(left + 1), ux, uy) <= dot(at(left), ux, uy) + 1e-9; guard += 1) left += 1;
    }
    const maxU = dot(at(right), ux, uy);
    const minU = dot(at(left), ux, uy);
    const base = dot(from, vx, vy);
    const across = dot(at(far), vx, vy) - base;
    const along = maxU - minU;
    const area = along * across;
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const mid = (maxU + minU) / 2;
      const depth = base + across / 2;
      best = { cx: ux * mid + vx * depth, cy: uy * mid + vy * depth, ux, uy, along, across };
    }
  }
  return best ?? { cx: hull[0]!.x, cy: hull[0]!.y, ux: 1, uy: 0, along: 0, across: 0 };
}
