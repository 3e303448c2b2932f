/**
 * The Redis Cluster slot of a key (or of a bare hash tag): CRC16 (XMODEM: polynomial 0x1021,
 * initial 0) of the key, or of the part between the first `{` and the next `}` when that part
 * is not empty, modulo 16384, as the Cluster specification defines it.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  let from = 0;
  let to = bytes.length;
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      from = open + 1;
      to = close;
    }
  }
  let crc = 0;
  for (let i = from; i < to; i += 1) {
    crc ^= bytes[i]! << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
