import { ServingError } from '../protocol/errors.js';

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0): boolean =>
  bytes.byteLength >= at + signature.length && signature.every((byte, index) => bytes[at + index] === byte);
const ascii = (text: string): number[] => [...text].map((char) => char.charCodeAt(0));

/** The formats read, by their first bytes. */
const READ: readonly (readonly [string, (bytes: Uint8Array) => boolean])[] = [
  ['png', (bytes) => startsWith(bytes, [0x89, ...ascii('PNG\r\n'), 0x1a, 0x0a])],
  ['jpeg', (bytes) => startsWith(bytes, [0xff, 0xd8, 0xff])],
  ['webp', (bytes) => startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)],
];

/** Formats libvips would also parse, named in the refusal. */
const REFUSED: readonly (readonly [string, (bytes: Uint8Array) => boolean])[] = [
  ['gif', (bytes) => startsWith(bytes, ascii('GIF8'))],
  ['tiff', (bytes) => startsWith(bytes, ascii('II*\0')) || startsWith(bytes, ascii('MM\0*'))],
  ['heif or avif', (bytes) => startsWith(bytes, ascii('ftyp'), 4)],
  ['pdf', (bytes) => startsWith(bytes, ascii('%PDF'))],
  ['bmp', (bytes) => startsWith(bytes, ascii('BM'))],
  [
    'svg or other text',
    (bytes) =>
      /^(\uFEFF)?\s*</.test(
        Buffer.from(bytes.subarray(0, 64))
          .toString('latin1')
          .replace(/^\xEF\xBB\xBF/, ''),
      ),
  ],
];

/** Whether the bytes start as a PNG, JPEG or WebP file does. */
export const isReadableImage = (bytes: Uint8Array): boolean => READ.some(([, matches]) => matches(bytes));

/** Whether the bytes start as a WAV file does. */
export const isWavFile = (bytes: Uint8Array): boolean => startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WAVE'), 8);

/**
 * Refuses, from its first bytes, an image that is not PNG, JPEG or WebP, before libvips sees it:
 * its metadata() parses some formats whole (a 16 MB SVG took 5-7 s of a libuv thread, and four
 * at once held every image decode and DNS lookup of the process behind them).
 */
export function checkImageSignature(bytes: Uint8Array, where: string): void {
  if (READ.some(([, matches]) => matches(bytes))) return;
  const named = REFUSED.find(([, matches]) => matches(bytes))?.[0];
  throw new ServingError('invalid_media', `${where} is ${named ?? 'of an unknown format'}: send PNG, JPEG or WebP`);
}
