import type { Tensor } from '../../../../workers/protocol/tensor.js';
import { sharpOf, type RawImage } from './raw-image.js';

/**
 * A text line as PaddleOCR's line models take it: scaled to `height` keeping its aspect,
 * normalised to [-1, 1] in BGR order, planar, and padded on the right with zeros to the
 * narrowest of `widths` that holds it (lines wider than the widest are squeezed into
 * it). A few fixed widths let lines of different lengths share a batch.
 */
export async function lineTensor(line: RawImage, height: number, widths: readonly number[]): Promise<Tensor> {
  const widest = Math.max(...widths);
  const natural = Math.max(1, Math.ceil((height * line.width) / line.height));
  const width = Math.min(natural, widest);
  const padded = widths.filter((candidate) => candidate >= width).sort((a, b) => a - b)[0] ?? widest;
  const pixels = await sharpOf(line).resize(width, height, { fit: 'fill' }).raw().toBuffer();
  const plane = height * padded;
  const data = new Float32Array(3 * plane);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const source = (y * width + x) * 3;
      const target = y * padded + x;
      for (let c = 0; c < 3; c += 1) data[c * plane + target] = (pixels[source + (2 - c)]! / 255 - 0.5) / 0.5;
    }
  }
  return { name: 'x', datatype: 'FP32', shape: [1, 3, height, padded], data };
}
