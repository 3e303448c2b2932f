import sharp from 'sharp';

/** Words for generated documents: form and invoice vocabulary with numbers, deterministic by seed. */
const WORDS = [
  'invoice',
  'total',
  'amount',
  'due',
  'date',
  'customer',
  'account',
  'number',
  'claim',
  'policy',
  'address',
  'street',
  'payment',
  'received',
  'order',
  'item',
  'quantity',
  'price',
  'tax',
  'balance',
  'signature',
  'reference',
  'office',
  'report',
  'meeting',
  'Berlin',
  'London',
  'Paris',
  'Madrid',
  'March',
  'June',
  'October',
  'form',
  'section',
  'notes',
  'approved',
  'pending',
];

/** A deterministic pseudo-random line of words and numbers, about `length` characters long. */
export function documentLine(seed: number, length = 28): string {
  let state = (seed * 2654435761) >>> 0;
  const next = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const words: string[] = [];
  while (words.join(' ').length < length) {
    const roll = next();
    if (roll < 0.2) words.push(String(Math.floor(next() * 9000) + 100));
    else if (roll < 0.27) words.push(`${Math.floor(next() * 900) + 10}.${String(Math.floor(next() * 100)).padStart(2, '0')}`);
    else {
      const word = WORDS[Math.floor(next() * WORDS.length)]!;
      words.push(words.length === 0 ? word[0]!.toUpperCase() + word.slice(1) : word);
    }
  }
  return words.join(' ');
}

export interface PageLayout {
  readonly width?: number;
  readonly height?: number;
  readonly fontSize?: number;
  readonly lineHeight?: number;
  readonly margin?: number;
  /** Lines in a second column, read after the first (`columns[0]`). */
  readonly columns: readonly (readonly string[])[];
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A white A4-like page (portrait, 679 x 960 by default) with its columns of dark text, as PNG. */
export async function renderDocument(layout: PageLayout): Promise<Buffer> {
  const width = layout.width ?? 679;
  const height = layout.height ?? 960;
  const fontSize = layout.fontSize ?? 20;
  const lineHeight = layout.lineHeight ?? 36;
  const margin = layout.margin ?? 48;
  const columnWidth = (width - 2 * margin) / layout.columns.length;
  const texts = layout.columns.flatMap((lines, column) =>
    lines.map((line, row) => {
      const x = Math.round(margin + column * columnWidth);
      const y = Math.round(margin + fontSize + row * lineHeight);
      return `<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#1a1a1a">${escapeXml(line)}</text>`;
    }),
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${texts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Turns a page clockwise by `degrees` about its centre onto a white background that grows to hold it. */
export async function turnPage(page: Buffer, degrees: number): Promise<Buffer> {
  return sharp(page).rotate(degrees, { background: '#ffffff' }).png().toBuffer();
}

/**
 * A phone-photo stand-in: slight blur, seeded Gaussian-like noise, then JPEG at `quality`.
 * Noise is added to the raw pixels, so the same seed gives the same image.
 */
export async function degradePage(page: Buffer, options: { quality: number; noise: number; blur: number; seed: number }): Promise<Buffer> {
  const { data, info } = await sharp(page).blur(options.blur).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let state = options.seed >>> 0;
  const uniform = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (let index = 0; index < data.length; index += 1) {
    const gaussian = (uniform() + uniform() + uniform() - 1.5) * 2;
    data[index] = Math.max(0, Math.min(255, Math.round(data[index]! + gaussian * options.noise)));
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .jpeg({ quality: options.quality })
    .toBuffer();
}
