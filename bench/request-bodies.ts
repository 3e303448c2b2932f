export const INPUT_WIDTH = 512;

export interface RequestBody {
  /** Exactly the float32 values the server will see after JSON parsing. */
  readonly input: Float32Array;
  readonly json: string;
}

/**
 * Random OIP request bodies. Values are rounded to float32 before encoding so that a
 * server's parsed tensor equals `input` bit for bit, which lets outputs be checked.
 */
export function makeRequestBodies(count: number): RequestBody[] {
  return Array.from({ length: count }, () => {
    const input = new Float32Array(INPUT_WIDTH);
    for (let i = 0; i < input.length; i += 1) input[i] = Math.random() * 2 - 1;
    const json = JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, INPUT_WIDTH], data: Array.from(input) }],
    });
    return { input, json };
  });
}

/** Round-robin over the pool; shared by every client so bodies vary across connections. */
export function cycle<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error('cannot cycle an empty list');
  let next = 0;
  return () => {
    const item = items[next]!;
    next = (next + 1) % items.length;
    return item;
  };
}
