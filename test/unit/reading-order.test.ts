import { describe, expect, it } from 'vitest';
import { readingOrder } from '../../gateway/pipelines/transforms/ocr/reading-order.js';

const at = (name: string, x: number, y: number, height = 20) => ({ name, box: { x, y, width: 50, height } });

describe('readingOrder', () => {
  it('reads rows top to bottom and each row left to right, despite uneven baselines', () => {
    const items = [at('d', 10, 60), at('b', 200, 12), at('c', 400, 8), at('a', 10, 10), at('e', 300, 58)];
    expect(readingOrder(items).map((item) => item.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('puts a line more than half a box height lower on the next row', () => {
    expect(readingOrder([at('right', 300, 0), at('lower-left', 0, 11)]).map((item) => item.name)).toEqual(['right', 'lower-left']);
  });
});

/** A line of `length` at centre (cx, cy), 30 high, turned by `angle` degrees, as the OCR boxes give it. */
function line(name: string, cx: number, cy: number, length: number, angle = 0) {
  const radians = (angle * Math.PI) / 180;
  const [dx, dy] = [Math.cos(radians), Math.sin(radians)];
  const [nx, ny] = [-dy, dx];
  const corner = (a: number, b: number): [number, number] => [cx + dx * a + nx * b, cy + dy * a + ny * b];
  const quad = [corner(-length / 2, -15), corner(length / 2, -15), corner(length / 2, 15), corner(-length / 2, 15)];
  const xs = quad.map(([x]) => x);
  const ys = quad.map(([, y]) => y);
  return {
    name,
    box: {
      x: Math.min(...xs),
      y: Math.min(...ys),
      width: Math.max(...xs) - Math.min(...xs),
      height: Math.max(...ys) - Math.min(...ys),
      angle,
      quad,
    },
  };
}

describe('readingOrder in the page frame', () => {
  it('reads two columns one after the other, with a title above and a footer below read as rows', () => {
    const items = [line('title', 300, 20, 500)];
    for (let row = 0; row < 4; row += 1) items.push(line(`L${row}`, 150, 80 + row * 40, 240), line(`R${row}`, 450, 80 + row * 40, 240));
    items.push(line('footer', 300, 280, 500));
    expect(readingOrder(items.reverse()).map((item) => item.name)).toEqual([
      'title',
      'L0',
      'L1',
      'L2',
      'L3',
      'R0',
      'R1',
      'R2',
      'R3',
      'footer',
    ]);
  });

  it('reads a tilted page by its own rows: a 12 degree skew does not interleave lines', () => {
    // In the image, the second row's first word is above the first row's second word.
    const turn = (12 * Math.PI) / 180;
    const items = [0, 1].flatMap((row) =>
      [0, 1].map((word) => {
        const [x, y] = [100 + word * 260, 50 + row * 45];
        return line(`${row}.${word}`, x * Math.cos(turn) - y * Math.sin(turn) + 200, x * Math.sin(turn) + y * Math.cos(turn), 220, 12);
      }),
    );
    expect(items.find((item) => item.name === '1.0')!.box.y).toBeLessThan(items.find((item) => item.name === '0.1')!.box.y);
    expect(readingOrder(items.reverse()).map((item) => item.name)).toEqual(['0.0', '0.1', '1.0', '1.1']);
  });

  it('reads a page turned a quarter clockwise from its right edge to its left, each line downwards', () => {
    // Lines run downwards (angle 90); the page's first line is the rightmost.
    const items = [line('first', 300, 200, 300, 90), line('second', 250, 200, 300, 90), line('third', 200, 200, 300, 90)];
    expect(readingOrder(items).map((item) => item.name)).toEqual(['first', 'second', 'third']);
  });
});
