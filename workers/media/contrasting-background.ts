import type { Sharp } from 'sharp';

/**
 * The background an image with transparency is shown on: white when what is drawn is dark,
 * black when it is light, so a model sees the content as a page shows it. Dropping alpha
 * instead keeps whatever colour transparent pixels carry (black, as a rule): a dark drawing
 * on a transparent background became a blank square to a classifier, and always flattening
 * on white made light text vanish for OCR. Shared by model inputs and the OCR pipeline.
 */
export async function contrastingBackground(image: Sharp): Promise<string> {
  const { data } = await image
    .ensureAlpha()
    .toColourspace('srgb')
    .resize(64, 64, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return drawnBrightness(data) < 128 ? '#ffffff' : '#000000';
}

/** RGBA pixels' mean brightness weighted by opacity (0-255); 0 when nothing is drawn, which shows as white. */
export function drawnBrightness(rgba: Uint8Array): number {
  let covered = 0;
  let brightness = 0;
  for (let p = 0; p < rgba.length; p += 4) {
    const alpha = rgba[p + 3]!;
    covered += alpha;
    brightness += (alpha * (rgba[p]! + rgba[p + 1]! + rgba[p + 2]!)) / 3;
  }
  return covered === 0 ? 0 : brightness / covered;
}
