import sharp from 'sharp';
import { documentLine, renderDocument } from './document-pages.js';

/** Coloured shapes on a light background: what nsfwjs calls a drawing. */
export function drawnShapes(size = 300): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#f4f4f4"/>` +
    `<circle cx="${size / 3}" cy="${size / 2.7}" r="${size / 5}" fill="#d33"/><rect x="${size / 2}" y="${size / 2}" width="${size / 2.5}" height="${size / 3.3}" fill="#36c"/>` +
    `<polygon points="${size / 7},${size * 0.93} ${size * 0.4},${size * 0.67} ${size * 0.67},${size * 0.93}" fill="#2a2"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A rendered text page, as JPEG. */
export async function documentImage(seed: number): Promise<Buffer> {
  const page = await renderDocument({ columns: [Array.from({ length: 10 }, (_, row) => documentLine(seed * 50 + row))] });
  return sharp(page).jpeg({ quality: 80 }).toBuffer();
}

/** A generated "photo": blue sky over textured green ground, with noise from the seed. */
export async function landscapePhoto(seed: number, width = 320, height = 240): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let state = seed >>> 0;
  const noise = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return (state >>> 24) % 24;
  };
  const horizon = Math.round(height * (0.5 + (seed % 5) / 20));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const at = (y * width + x) * 3;
      const sky = y < horizon;
      data[at] = sky ? 90 + y / 3 : 40 + noise();
      data[at + 1] = sky ? 140 + y / 4 : 100 + noise() + ((x * y) % 23);
      data[at + 2] = sky ? 225 : 45 + noise();
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}
