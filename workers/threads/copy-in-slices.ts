/** Copied this much at a time, yielding to the event loop between slices. */
const SLICE_BYTES = 4 * 1024 * 1024;

/**
 * A copy of `source` in a buffer of its own (to move to a thread), made a slice per turn of
 * the event loop: one memcpy of 64 MiB into fresh pages is itself a stall.
 */
export async function copyInSlices(source: Uint8Array): Promise<Uint8Array> {
  // Never pooled (so it can move to a thread) and not zero-filled first: every byte is written below.
  const copy = Buffer.allocUnsafeSlow(source.byteLength);
  for (let at = 0; at < source.byteLength; at += SLICE_BYTES) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    copy.set(source.subarray(at, at + SLICE_BYTES), at);
  }
  return copy;
}
