import type { ImageGeometry, InputLayout } from './input-layout.js';
import { pixelIndex } from './input-layout.js';

/** The units an explanation turns off: each a set of elements of one row; attributions come one per group. */
export interface FeatureGroups {
  /** The attributions' shape: the input's own, or the patch grid [rows, cols]. */
  readonly shape: readonly number[];
  readonly members: readonly Int32Array[];
}

/** Patch origins along one axis: every stride, plus one flush with the end so every pixel is covered. */
function origins(length: number, size: number, stride: number): number[] {
  const list: number[] = [];
  for (let at = 0; at + size <= length; at += stride) list.push(at);
  if (list[list.length - 1] !== length - size) list.push(length - size);
  return list;
}

/** A grid of square patches (all channels) over an image. */
export function patchGroups(image: ImageGeometry, size: number, stride: number): FeatureGroups {
  const edge = Math.min(size, image.height, image.width);
  const ys = origins(image.height, edge, stride);
  const xs = origins(image.width, edge, stride);
  const members: Int32Array[] = [];
  for (const y0 of ys) {
    for (const x0 of xs) {
      const patch = new Int32Array(edge * edge * image.channels);
      let k = 0;
      for (let y = y0; y < y0 + edge; y += 1) {
        for (let x = x0; x < x0 + edge; x += 1) {
          for (let c = 0; c < image.channels; c += 1) patch[k++] = pixelIndex(image, y, x, c);
        }
      }
      members.push(patch);
    }
  }
  return { shape: [ys.length, xs.length], members };
}

/** One group per element of a vector, or contiguous runs when there are more than `maxGroups`. */
export function elementGroups(layout: InputLayout, maxGroups = Number.POSITIVE_INFINITY): FeatureGroups {
  const count = Math.min(layout.size, maxGroups);
  const run = Math.ceil(layout.size / count);
  const members: Int32Array[] = [];
  for (let start = 0; start < layout.size; start += run) {
    members.push(Int32Array.from({ length: Math.min(run, layout.size - start) }, (_, i) => start + i));
  }
  return { shape: run === 1 ? [...layout.dims] : [members.length], members };
}

/** Every element of `row` in the listed groups set to the baseline's value. */
export function applyMask(
  row: Float32Array,
  baseline: Float32Array,
  groups: FeatureGroups,
  off: Iterable<number>,
  out: Float32Array,
): void {
  out.set(row);
  for (const group of off) {
    for (const index of groups.members[group]!) out[index] = baseline[index]!;
  }
}
