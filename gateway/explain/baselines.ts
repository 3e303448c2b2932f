import { ServingError } from '../../workers/protocol/errors.js';
import type { Baseline } from './explain-options.js';
import { pixelIndex, type ImageGeometry, type InputLayout } from './input-layout.js';

/** What "absent" means for one row: zeros, the row's own mean (per channel for images), or the image blurred. */
export function baselineRow(kind: Baseline, layout: InputLayout, row: Float32Array, blurRadius: number): Float32Array {
  if (kind === 'zeros') return new Float32Array(row.length);
  if (kind === 'mean') return layout.image ? channelMeans(layout.image, row) : new Float32Array(row.length).fill(mean(row));
  if (!layout.image)
    throw new ServingError(
      'explain_unsupported',
      `baseline "blur" is for image inputs; input "${layout.name}" is a vector (use zeros or mean)`,
    );
  return boxBlur(layout.image, row, blurRadius);
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length > 0 ? sum / values.length : 0;
}

function channelMeans(image: ImageGeometry, row: Float32Array): Float32Array {
  const out = new Float32Array(row.length);
  for (let c = 0; c < image.channels; c += 1) {
    let sum = 0;
    for (let y = 0; y < image.height; y += 1) for (let x = 0; x < image.width; x += 1) sum += row[pixelIndex(image, y, x, c)]!;
    const value = sum / (image.height * image.width);
    for (let y = 0; y < image.height; y += 1) for (let x = 0; x < image.width; x += 1) out[pixelIndex(image, y, x, c)] = value;
  }
  return out;
}

/** A separable box blur (edges clamped): removes the detail a patch holds, keeps its colour. */
function boxBlur(image: ImageGeometry, row: Float32Array, radius: number): Float32Array {
  const { height, width, channels } = image;
  const pass = (source: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(source.length);
    for (let c = 0; c < channels; c += 1) {
      for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) {
          let sum = 0;
          for (let d = -radius; d <= radius; d += 1) {
            const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + d));
            const xx = horizontal ? Math.min(width - 1, Math.max(0, x + d)) : x;
            sum += source[pixelIndex(image, yy, xx, c)]!;
          }
          out[pixelIndex(image, y, x, c)] = sum / (2 * radius + 1);
        }
      }
    }
    return out;
  };
  return pass(pass(row, true), false);
}
