import sharp, { type Sharp } from 'sharp';
import { contrastingBackground } from '../../../../workers/media/contrasting-background.js';
import { checkImageSignature } from '../../../../workers/media/image-signature.js';
import { ServingError } from '../../../../workers/protocol/errors.js';
import { TransformInputError } from '../transform.js';

/** Decoded pixels, 3 channels (RGB) interleaved, row by row: what OCR steps pass each other. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

const FORMATS = new Set(['png', 'jpeg', 'webp']);

/**
 * Decodes a caller's image once, with its EXIF rotation applied and alpha flattened onto the
 * background its content stands out against (white under dark text, black under light
 * text), the same rule model inputs follow. The pixel limit is
 * checked from the header, before any decoding; `reserve` is given the decoded size then, and
 * decoding waits for it.
 */
export async function decodeRawImage(
  bytes: unknown,
  maxPixels: number,
  reserve: (bytes: number) => Promise<void> = async () => undefined,
): Promise<RawImage> {
  if (!(bytes instanceof Uint8Array)) throw new TransformInputError('the image must be encoded bytes (PNG, JPEG or WebP)');
  if (bytes.byteLength === 0) throw new ServingError('invalid_media', 'the image is empty');
  checkImageSignature(bytes, 'the image');
  try {
    const source = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' });
    const { format, width, height, pages, hasAlpha } = await source.metadata();
    if (!format || !FORMATS.has(format))
      throw new ServingError('invalid_media', `the image is ${format ?? 'of an unknown format'}: send PNG, JPEG or WebP`);
    if ((pages ?? 1) > 1) throw new ServingError('invalid_media', `the image is animated (${pages} frames): send a still image`);
    if (width !== undefined && height !== undefined && width * height > maxPixels)
      throw new ServingError('image_too_large', `the image has more than ${maxPixels} pixels`);
    await reserve((width ?? 0) * (height ?? 0) * 3);
    const background = hasAlpha ? await contrastingBackground(source.clone()) : '#ffffff';
    const { data, info } = await source.rotate().flatten({ background }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof ServingError) throw error;
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) throw new ServingError('image_too_large', `the image has more than ${maxPixels} pixels`);
    throw new ServingError('invalid_media', `the image cannot be decoded: ${message}`);
  }
}

export function isRawImage(value: unknown): value is RawImage {
  return (
    typeof value === 'object' &&
    value !== null &&
    'data' in value &&
    'width' in value &&
    'height' in value &&
    (value as RawImage).data instanceof Uint8Array
  );
}

export function asRawImage(value: unknown, what: string): RawImage {
  if (!isRawImage(value)) throw new TransformInputError(`${what} must be a decoded image`);
  return value;
}

/** sharp's view of raw pixels, for cropping and resizing without re-encoding. */
export function sharpOf(image: RawImage): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}
