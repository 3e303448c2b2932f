/** Conversions between JS numbers and the 16-bit float formats FP16 and BF16, which JSON carries as numbers. */
const scratch = new DataView(new ArrayBuffer(4));

export function toBf16Bits(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  if (Number.isNaN(value)) return 0x7fc0;
  // Round to nearest even on the 16 dropped mantissa bits.
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function fromBf16Bits(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}

export function toFp16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const abs = Math.abs(value);
  if (abs >= 65520) return sign | 0x7c00; // overflows to infinity
  if (abs < 2 ** -24 / 2) return sign;
  if (abs < 2 ** -14) return sign | Math.round(abs / 2 ** -24); // subnormal
  let exponent = Math.floor(Math.log2(abs));
  let mantissa = Math.round((abs / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    exponent += 1;
    mantissa = 0;
  }
  return sign | ((exponent + 15) << 10) | mantissa;
}

export function fromFp16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
