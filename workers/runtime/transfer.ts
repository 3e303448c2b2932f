import type { TensorArray } from '../protocol/datatypes.js';
import type { Tensor } from '../protocol/tensor.js';

/**
 * Tensors with data that owns its whole ArrayBuffer, plus that buffer list for
 * postMessage's transfer list. A view into a larger buffer (a pooled Buffer, a request
 * body) is copied first: transferring it would detach memory other code still uses,
 * and cloning it would copy the whole underlying buffer. Buffers are transferred, so a
 * request's tensors must not be shared with another request (see plan-inference.ts).
 */
export function transferable(tensors: readonly Tensor[]): { tensors: Tensor[]; buffers: ArrayBuffer[] } {
  const buffers: ArrayBuffer[] = [];
  const seen = new Set<ArrayBufferLike>();
  const owned = tensors.map((tensor) => {
    let data: TensorArray = tensor.data;
    if (
      data.byteOffset !== 0 ||
      data.byteLength !== data.buffer.byteLength ||
      seen.has(data.buffer) ||
      !(data.buffer instanceof ArrayBuffer)
    ) {
      data = data.slice();
    }
    seen.add(data.buffer);
    buffers.push(data.buffer as ArrayBuffer);
    return { ...tensor, data };
  });
  return { tensors: owned, buffers };
}
