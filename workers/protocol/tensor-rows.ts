import { DATATYPE_INFO, allocate, type TensorArray } from './datatypes.js';
import { elementCount, type Tensor, walkBytesElements } from './tensor.js';

/**
 * Joins tensors of one name along the batch dimension (dim 0). The caller has checked
 * that datatypes and the other dims agree: the batcher never mixes signatures.
 */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw new Error('concatRows needs at least one tensor');
  if (parts.length === 1) return first;
  const rows = parts.reduce((sum, part) => sum + (part.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  // Length-prefixed BYTES data joins by its bytes, as fixed-size data does.
  const data =
    DATATYPE_INFO[first.datatype].bytes === 0
      ? allocate(
          'BYTES',
          parts.reduce((sum, part) => sum + part.data.length, 0),
        )
      : allocate(first.datatype, elementCount(shape));
  let offset = 0;
  for (const part of parts) {
    (data as Uint8Array).set(part.data as Uint8Array, offset);
    offset += part.data.length;
  }
  return { name: first.name, datatype: first.datatype, shape, data };
}

/** Cuts a batched tensor back into consecutive row ranges, one tensor per range (copies). */
export function splitRows(tensor: Tensor, rowCounts: readonly number[]): Tensor[] {
  const perRow = elementCount(tensor.shape.slice(1));
  const rest = tensor.shape.slice(1);
  if (DATATYPE_INFO[tensor.datatype].bytes === 0) {
    // Each range's bytes run from the offset of its first element to that of the next range's.
    const bytes = tensor.data as Uint8Array;
    const cuts = [0];
    let next = 0;
    for (const rows of rowCounts) cuts.push((next += rows * perRow));
    const offsets = new Array<number>(cuts.length);
    let cut = 0;
    const total = walkBytesElements(bytes, (start, _end, index) => {
      while (cut < cuts.length && cuts[cut] === index) offsets[cut++] = start - 4;
      return true;
    });
    while (cut < cuts.length) offsets[cut++] = bytes.byteLength;
    if (total === null) throw new Error('splitRows: BYTES data is not length-prefixed');
    return rowCounts.map((rows, range) => ({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: [rows, ...rest],
      data: bytes.slice(offsets[range]!, offsets[range + 1]!),
    }));
  }
  let row = 0;
  return rowCounts.map((rows) => {
    const data: TensorArray = tensor.data.slice(row * perRow, (row + rows) * perRow);
    row += rows;
    return { name: tensor.name, datatype: tensor.datatype, shape: [rows, ...rest], data };
  });
}
