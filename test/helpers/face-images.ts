import sharp from 'sharp';

/**
 * A cartoon face (oval, two eyes, a mouth) as PNG. The mouth's curve is the only thing
 * that changes between expressions, so a facial-expression model should tell them apart.
 */
export async function renderFace(expression: 'smile' | 'frown'): Promise<Buffer> {
  const mouth = expression === 'smile' ? 'M 75 165 Q 128 225 181 165' : 'M 75 195 Q 128 145 181 195';
  const brows = expression === 'frown' ? '<path d="M 70 85 L 110 95 M 186 85 L 146 95" stroke="#222" stroke-width="8"/>' : '';
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="#888"/>' +
    '<ellipse cx="128" cy="128" rx="100" ry="120" fill="#ddd"/>' +
    '<ellipse cx="90" cy="105" rx="14" ry="9" fill="#222"/><ellipse cx="166" cy="105" rx="14" ry="9" fill="#222"/>' +
    `${brows}<path d="${mouth}" stroke="#222" stroke-width="10" fill="none"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
