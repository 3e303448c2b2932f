import sharp from 'sharp';
import type { Tensor } from '../../workers/protocol/tensor.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import type { InputPlan } from './explain-plan.js';
import type { InputAttribution } from './explain-rows.js';
import { pixelIndex, type ImageGeometry } from './input-layout.js';

/** Heatmaps are drawn at least this many pixels on their short side (model inputs are often tiny). */
const MIN_SIDE = 256;
const MAX_ALPHA = 0.65;
/** ...and never wider than this. */
const MAX_WIDTH = 2048;

/** The model's pixels back as 8-bit RGB: the image spec's normalisation undone, or the row's range stretched. */
function visiblePixels(values: Float32Array, image: ImageGeometry, spec: ModelConfig['inputs'][number]['image']): Uint8Array {
  const rgb = new Uint8Array(image.height * image.width * 3);
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  for (let y = 0; y < image.height; y += 1) {
    for (let x = 0; x < image.width; x += 1) {
      for (let c = 0; c < 3; c += 1) {
        const channel = image.channels === 1 ? 0 : spec?.channel_order === 'BGR' ? 2 - c : c;
        const value = values[pixelIndex(image, y, x, channel)]!;
        const byte = spec ? (value * spec.std[channel]! + spec.mean[channel]!) / spec.scale : ((value - low) / (high - low || 1)) * 255;
        rgb[(y * image.width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(byte)));
      }
    }
  }
  return rgb;
}

/** Each pixel's attribution: the mean over the patches (groups) that cover it. */
function pixelHeat(plan: InputPlan, attribution: InputAttribution, image: ImageGeometry): Float64Array {
  const plane = image.height * image.width;
  const sum = new Float64Array(plane);
  const count = new Uint32Array(plane);
  plan.groups.members.forEach((members, group) => {
    for (const index of members) {
      const pixel = image.layout === 'NCHW' ? index % plane : Math.floor(index / image.channels);
      sum[pixel] = sum[pixel]! + attribution.data[group]!;
      count[pixel] = count[pixel]! + 1;
    }
  });
  return sum.map((value, pixel) => (count[pixel]! > 0 ? value / count[pixel]! : 0));
}

/** One attribution over its image: red where the input raised the score, blue where it lowered it. */
function overlay(
  values: Float32Array,
  plan: InputPlan,
  attribution: InputAttribution,
  spec: ModelConfig['inputs'][number]['image'],
): Uint8Array {
  const image = plan.layout.image!;
  const rgb = visiblePixels(values, image, spec);
  const heat = pixelHeat(plan, attribution, image);
  const peak = heat.reduce((max, value) => Math.max(max, Math.abs(value)), 0) || 1;
  heat.forEach((value, pixel) => {
    const alpha = (Math.abs(value) / peak) * MAX_ALPHA;
    const colour = value >= 0 ? [255, 0, 0] : [0, 64, 255];
    for (let c = 0; c < 3; c += 1) rgb[pixel * 3 + c] = Math.round(rgb[pixel * 3 + c]! * (1 - alpha) + colour[c]! * alpha);
  });
  return rgb;
}

/** Every image attribution's heatmap, one under the other, enlarged so a reviewer can see it, as PNG. */
export async function renderHeatmaps(
  inputs: readonly Tensor[],
  plans: readonly InputPlan[],
  attributions: readonly InputAttribution[],
  config: ModelConfig,
  minSide = MIN_SIDE,
): Promise<Buffer> {
  const drawn = attributions.filter((attribution) => plans.find((plan) => plan.layout.name === attribution.input)?.layout.image);
  const batching = config.max_batch_size > 0;
  const tiles = drawn.map((attribution) => {
    const plan = plans.find((candidate) => candidate.layout.name === attribution.input)!;
    const tensor = inputs.find((candidate) => candidate.name === attribution.input)!;
    const size = plan.layout.size;
    const values = (tensor.data as Float32Array).subarray(
      batching ? attribution.row * size : 0,
      (batching ? attribution.row : 0) * size + size,
    );
    const spec = config.inputs.find((candidate) => candidate.name === attribution.input)?.image;
    return { image: plan.layout.image!, rgb: overlay(values, plan, attribution, spec) };
  });
  const width = Math.max(...tiles.map((tile) => tile.image.width));
  const height = tiles.reduce((sum, tile) => sum + tile.image.height, 0);
  const canvas = new Uint8Array(width * height * 3);
  let top = 0;
  for (const tile of tiles) {
    for (let y = 0; y < tile.image.height; y += 1)
      canvas.set(tile.rgb.subarray(y * tile.image.width * 3, (y + 1) * tile.image.width * 3), (top + y) * width * 3);
    top += tile.image.height;
  }
  const factor = Math.max(1, Math.min(Math.ceil(minSide / Math.min(width, height)), Math.floor(MAX_WIDTH / width)));
  return sharp(canvas, { raw: { width, height, channels: 3 } })
    .resize(width * factor, height * factor, { kernel: 'nearest' })
    .png()
    .toBuffer();
}
