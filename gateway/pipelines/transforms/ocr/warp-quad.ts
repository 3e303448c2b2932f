import type { RawImage } from './raw-image.js';

/**
 * Samples the parallelogram spanned by a quad's top-left, top-right and bottom-left
 * corners into an upright RGB image of its own size (rounded), bilinearly; samples off
 * the image repeat its edge. This is the affine case of PaddleOCR's perspective crop:
 * the quads here are rectangles (or, after scaling from the detector's map, nearly so).
 */
export function warpQuad(image: RawImage, quad: readonly (readonly [number, number])[]): RawImage {
  const [tl, tr, , bl] = quad as [readonly [number, number], readonly [number, number], unknown, readonly [number, number]];
  const ax = tr[0] - tl[0];
  const ay = tr[1] - tl[1];
  const bx = bl[0] - tl[0];
  const by = bl[1] - tl[1];
  const width = Math.max(1, Math.round(Math.hypot(ax, ay)));
  const height = Math.max(1, Math.round(Math.hypot(bx, by)));
  const out = new Uint8Array(width * height * 3);
  const source = image.data;
  const lastX = image.width - 1;
  const lastY = image.height - 1;
  const stride = image.width * 3;
  for (let row = 0; row < height; row += 1) {
    const v = (row + 0.5) / height;
    for (let column = 0; column < width; column += 1) {
      const u = (column + 0.5) / width;
      // Pixel centres sit at +0.5 in image coordinates.
      const sx = Math.min(lastX, Math.max(0, tl[0] + u * ax + v * bx - 0.5));
      const sy = Math.min(lastY, Math.max(0, tl[1] + u * ay + v * by - 0.5));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(lastX, x0 + 1);
      const y1 = Math.min(lastY, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const p00 = y0 * stride + x0 * 3;
      const p01 = y0 * stride + x1 * 3;
      const p10 = y1 * stride + x0 * 3;
      const p11 = y1 * stride + x1 * 3;
      const target = (row * width + column) * 3;
      for (let c = 0; c < 3; c += 1) {
        const top = source[p00 + c]! + (source[p01 + c]! - source[p00 + c]!) * fx;
        const bottom = source[p10 + c]! + (source[p11 + c]! - source[p10 + c]!) * fx;
        out[target + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { data: out, width, height };
}
