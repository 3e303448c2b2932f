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
