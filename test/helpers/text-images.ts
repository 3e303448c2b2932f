import sharp from 'sharp';

/** Text and page colours; `background: 'none'` leaves the page transparent. */
export interface TextColours {
  readonly ink?: string;
  readonly background?: string;
}

/** A black-on-white text line rendered from SVG, as PNG (or another format), optionally rotated. */
export async function renderTextLine(
  text: string,
  options: { rotate?: number; format?: 'png' | 'jpeg' | 'webp'; width?: number; height?: number } & TextColours = {},
): Promise<Buffer> {
  const width = options.width ?? 400;
  const height = options.height ?? 100;
  const background = options.background ?? 'white';
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      (background === 'none' ? '' : `<rect width="100%" height="100%" fill="${background}"/>`) +
      `<text x="10" y="${Math.round(height * 0.7)}" font-family="DejaVu Sans, sans-serif" font-size="${Math.round(height * 0.56)}" fill="${options.ink ?? 'black'}">${text}</text></svg>`,
  );
  return sharp(svg)
    .rotate(options.rotate ?? 0)
    .toFormat(options.format ?? 'png')
    .toBuffer();
}

/** Several text lines stacked on one white page; lines marked upsideDown are turned 180 degrees in place. */
export async function renderTextPage(
  lines: readonly { text: string; upsideDown?: boolean }[],
  options: { width?: number; lineHeight?: number; margin?: number } & TextColours = {},
): Promise<Buffer> {
  const width = options.width ?? 800;
  const lineHeight = options.lineHeight ?? 64;
  const margin = options.margin ?? 24;
  const transparent = options.background === 'none';
  const rendered = await Promise.all(
    lines.map((line) =>
      renderTextLine(line.text, {
        width,
        height: lineHeight,
        rotate: line.upsideDown ? 180 : 0,
        ink: options.ink,
        background: options.background,
      }),
    ),
  );
  const height = margin * 2 + lineHeight * lines.length;
  const page = transparent
    ? sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    : sharp({ create: { width, height, channels: 3, background: options.background ?? 'white' } });
  return page
    .composite(rendered.map((input, index) => ({ input, left: 0, top: margin + index * lineHeight })))
    .png()
    .toBuffer();
}

/** A spreadsheet-like page: `rows` x `columns` cells of 4-digit numbers, black on white; the cells' texts row by row. */
export async function renderNumberGrid(
  rows: number,
  columns: number,
  options: { cellWidth?: number; rowHeight?: number; fontSize?: number } = {},
): Promise<{ image: Buffer; cells: string[] }> {
  const cellWidth = options.cellWidth ?? 64;
  const rowHeight = options.rowHeight ?? 24;
  const fontSize = options.fontSize ?? 16;
  const cells: string[] = [];
  let body = '';
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) {
      const text = String(1000 + ((row * 37 + column * 101) % 9000));
      cells.push(text);
      body += `<text x="${8 + column * cellWidth}" y="${rowHeight * (row + 0.8)}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="black">${text}</text>`;
    }
  }
  const width = 16 + columns * cellWidth;
  const height = rowHeight * (rows + 0.5);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`;
  return { image: await sharp(Buffer.from(svg)).png().toBuffer(), cells };
}
