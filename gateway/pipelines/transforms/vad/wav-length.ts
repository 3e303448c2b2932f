/**
 * A WAV file's frame count and rate from its chunk headers alone, without decoding its
 * samples: enough to know how many windows a clip has before it runs. Undefined for
 * anything decodeWav would refuse to read this far (its error is the task's, later).
 */
export function wavLength(bytes: Uint8Array): { frames: number; sampleRate: number } | undefined {
  if (bytes.byteLength < 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number): string => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return undefined;
  let format: { channels: number; rate: number; bits: number } | undefined;
  for (let offset = 12; offset + 8 <= bytes.byteLength; ) {
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (tag(offset) === 'fmt ') {
      if (size < 16 || body + 16 > bytes.byteLength) return undefined;
      format = { channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (tag(offset) === 'data') {
      if (!format || format.channels === 0 || format.bits < 8 || format.rate === 0) return undefined;
      const frameBytes = (format.bits / 8) * format.channels;
      return { frames: Math.floor(Math.min(size, bytes.byteLength - body) / frameBytes), sampleRate: format.rate };
    }
    offset = body + size + (size % 2);
  }
  return undefined;
}
