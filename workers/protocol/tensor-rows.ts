import { DATATYPE_INFO, allocate, type TensorArray } from './datatypes.js';
import { decodeBytesElements, encodeBytesElements, elementCount, type Tensor } from './tensor.js';

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
  if (DATATYPE_INFO[first.datatype].bytes === 0) {
    const elements = parts.flatMap((part) => decodeBytesElements(part.data as Uint8Array) ?? []);
    return { name: first.name, datatype: first.datatype, shape, data: encodeBytesElements(elements) };
  }
  const data = allocate(first.datatype, elementCount(shape));
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
    const elements = decodeBytesElements(tensor.data as Uint8Array) ?? [];
    let start = 0;
    return rowCounts.map((rows) => {
      const slice = elements.slice(start * perRow, (start + rows) * perRow);
      start += rows;
      return { name: tensor.name, datatype: tensor.datatype, shape: [rows, ...rest], data: encodeBytesElements(slice) };
    });
  }
  let row = 0;
  return rowCounts.map((rows) => {
    const data: TensorArray = tensor.data.slice(row * perRow, (row + rows) * perRow);
    row += rows;
    return { name: tensor.name, datatype: tensor.datatype, shape: [rows, ...rest], data };
  });
}
