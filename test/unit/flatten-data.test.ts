import { describe, expect, it } from 'vitest';
import { flattenData, MAX_DATA_DEPTH } from '../../gateway/protocol/json-tensor-data.js';
import { ServingError } from '../../workers/protocol/errors.js';

const nest = (depth: number, leaf: unknown): unknown[] => {
  let value: unknown = leaf;
  for (let level = 0; level < depth; level += 1) value = [value];
  return value as unknown[];
};

describe('flattenData', () => {
  it('keeps flat data as it is and flattens nested data row-major', () => {
    const flat = [1, 2, 3];
    expect(flattenData(flat)).toBe(flat);
    expect(flattenData([[1, [2, 3]], [[4], 5], [], [[[6]]]])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it(`accepts ${MAX_DATA_DEPTH} levels and refuses one more, without recursion`, () => {
    expect(flattenData(nest(MAX_DATA_DEPTH, 7))).toEqual([7]);
    expect(() => flattenData(nest(MAX_DATA_DEPTH + 1, 7))).toThrow(ServingError);
    for (const depth of [10_000, 1_000_000]) {
      const error = (() => {
        try {
          flattenData(nest(depth, 7));
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toMatchObject({ code: 'invalid_request' });
    }
  });
});
