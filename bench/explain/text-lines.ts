import sharp from 'sharp';
import { decodeImages } from '../../workers/media/decode-images.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import type { ImageInputSpec } from '../../workers/repository/model-config.js';

const WORDS = ['invoice', 'total', 'claim', 'policy', 'amount', 'date', 'paid', 'order', 'refund', 'balance', 'Berlin', 'street'];

/** A text line as PNG, upright or turned 180°: the two classes text-direction tells apart. */
export function textLinePng(index: number): Promise<Buffer> {
  const text = `${WORDS[index % WORDS.length]} ${WORDS[(index * 7 + 3) % WORDS.length]} ${100 + ((index * 37) % 900)}`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="384" height="96"><rect width="100%" height="100%" fill="white"/><text x="12" y="66" font-family="DejaVu Sans, sans-serif" font-size="${44 + (index % 5) * 2}" fill="black">${text}</text></svg>`;
  return sharp(Buffer.from(svg))
    .rotate(index % 2 === 0 ? 0 : 180)
    .png()
    .toBuffer();
}

/** The PNG as the model's FP32 row, decoded exactly as the worker decodes it. */
export async function textLineTensor(png: Buffer, spec: ImageInputSpec): Promise<Float32Array> {
  const decoded = await decodeImages({ name: 'x', datatype: 'BYTES', shape: [1], data: encodeBytesElements([png]) }, spec, 40_000_000);
  return decoded.data as Float32Array;
}
