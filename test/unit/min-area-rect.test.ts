import { describe, expect, it } from 'vitest';
import { convexHull, type Point } from '../../gateway/pipelines/transforms/ocr/convex-hull.js';
import { minAreaRect } from '../../gateway/pipelines/transforms/ocr/min-area-rect.js';

/** Smallest bounding-rectangle area over every hull edge direction, the slow way. */
function bruteForceArea(hull: readonly Point[]): number {
  let best = Infinity;
  for (let i = 0; i < hull.length; i += 1) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const length = Math.hypot(b.x - a.x, b.y - a.y);
    if (length === 0) continue;
    const [ux, uy] = [(b.x - a.x) / length, (b.y - a.y) / length];
    const along = hull.map((p) => p.x * ux + p.y * uy);
    const across = hull.map((p) => -p.x * uy + p.y * ux);
    best = Math.min(best, (Math.max(...along) - Math.min(...along)) * (Math.max(...across) - Math.min(...across)));
  }
  return best;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('convexHull and minAreaRect (rotating calipers)', () => {
  it('drops interior and collinear points', () => {
    const hull = convexHull([
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 4, y: 0 },
      { x: 4, y: 3 },
      { x: 0, y: 3 },
      { x: 2, y: 1 },
    ]);
    expect(hull).toHaveLength(4);
    expect(hull).not.toContainEqual({ x: 2, y: 1 });
  });

  it('recovers a rotated rectangle exactly', () => {
    const turn = (20 * Math.PI) / 180;
    const corners = [
      [-30, -5],
      [30, -5],
      [30, 5],
      [-30, 5],
    ].map(([a, b]) => ({ x: 100 + a! * Math.cos(turn) - b! * Math.sin(turn), y: 50 + a! * Math.sin(turn) + b! * Math.cos(turn) }));
    const rect = minAreaRect(convexHull(corners));
    expect(rect.cx).toBeCloseTo(100, 6);
    expect(rect.cy).toBeCloseTo(50, 6);
    expect(Math.max(rect.along, rect.across)).toBeCloseTo(60, 6);
    expect(Math.min(rect.along, rect.across)).toBeCloseTo(10, 6);
    const longAngle = rect.along >= rect.across ? Math.atan2(rect.uy, rect.ux) : Math.atan2(rect.ux, -rect.uy);
    expect(Math.abs(Math.sin(longAngle - turn))).toBeLessThan(1e-6);
  });

  it('finds the same smallest area as trying every edge, on random point clouds, and holds every point', () => {
    const random = seeded(7);
    for (let trial = 0; trial < 200; trial += 1) {
      const points = Array.from({ length: 3 + Math.floor(random() * 40) }, () => ({ x: random() * 100, y: random() * 30 + random() * 20 }));
      const hull = convexHull(points);
      const rect = minAreaRect(hull);
      expect(rect.along * rect.across).toBeCloseTo(bruteForceArea(hull), 6);
      for (const p of points) {
        const dx = p.x - rect.cx;
        const dy = p.y - rect.cy;
        expect(Math.abs(dx * rect.ux + dy * rect.uy)).toBeLessThanOrEqual(rect.along / 2 + 1e-6);
        expect(Math.abs(-dx * rect.uy + dy * rect.ux)).toBeLessThanOrEqual(rect.across / 2 + 1e-6);
      }
    }
  });
});
