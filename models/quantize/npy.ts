/** A float32 array from a NumPy .npy file (format 1.x/2.x, little-endian '<f4', C order). */
export function readNpy(bytes: Uint8Array, file: string): { shape: number[]; data: Float32Array } {
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error(`${file} is not a .npy file`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4') throw new Error(`${file} holds ${descr ?? 'an unknown type'}: calibration files must be float32 ('<f4')`);
  if (fortran !== 'False') throw new Error(`${file} is in Fortran order: save it in C order`);
  const shape = (shapeText ?? '')
    .split(',')
    .map((dim) => dim.trim())
    .filter(Boolean)
    .map(Number);
  const offset = start + headerLength;
  // A copy: a Buffer's slice() shares the pool, and its .buffer would be the whole pool.
  const data = new Float32Array(Uint8Array.prototype.slice.call(bytes, offset).buffer);
  if (data.length !== shape.reduce((product, dim) => product * dim, 1))
    throw new Error(`${file}: ${data.length} values do not fill shape [${shape.join(',')}]`);
  return { shape, data };
}

/** Writes a float32 .npy (version 1.0), for calibration sets made by scripts. */
export function writeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // The header (with magic and length) pads to a multiple of 64 bytes and ends in a newline.
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
