import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import { buildIdentityModel, type IdentityDatatype } from './identity-model.js';
import { TestRepository } from './repository.js';

/** One tensor per datatype: its raw little-endian bytes and the same values as typed contents. */
export const TYPED: readonly { datatype: IdentityDatatype; raw: Buffer; contents: Record<string, unknown[]> }[] = [
  { datatype: 'FP32', raw: Buffer.from(Float32Array.of(1.5, -2, 3.25).buffer), contents: { fp32_contents: [1.5, -2, 3.25] } },
  { datatype: 'FP64', raw: Buffer.from(Float64Array.of(1e300, -0.5, 2).buffer), contents: { fp64_contents: [1e300, -0.5, 2] } },
  { datatype: 'UINT8', raw: Buffer.from(Uint8Array.of(0, 255, 7).buffer), contents: { uint_contents: [0, 255, 7] } },
  { datatype: 'UINT16', raw: Buffer.from(Uint16Array.of(0, 65535, 9).buffer), contents: { uint_contents: [0, 65535, 9] } },
  { datatype: 'UINT32', raw: Buffer.from(Uint32Array.of(4294967295, 0, 2).buffer), contents: { uint_contents: [4294967295, 0, 2] } },
  {
    datatype: 'UINT64',
    raw: Buffer.from(BigUint64Array.of(18446744073709551615n, 0n, 1n).buffer),
    contents: { uint64_contents: ['18446744073709551615', '0', '1'] },
  },
  { datatype: 'INT8', raw: Buffer.from(Int8Array.of(-128, 127, 0).buffer), contents: { int_contents: [-128, 127, 0] } },
  { datatype: 'INT16', raw: Buffer.from(Int16Array.of(-32768, 32767, 1).buffer), contents: { int_contents: [-32768, 32767, 1] } },
  {
    datatype: 'INT32',
    raw: Buffer.from(Int32Array.of(-2147483648, 2147483647, 5).buffer),
    contents: { int_contents: [-2147483648, 2147483647, 5] },
  },
  {
    datatype: 'INT64',
    raw: Buffer.from(BigInt64Array.of(-9223372036854775808n, 9223372036854775807n, 3n).buffer),
    contents: { int64_contents: ['-9223372036854775808', '9223372036854775807', '3'] },
  },
  { datatype: 'BOOL', raw: Buffer.from(Uint8Array.of(1, 0, 1).buffer), contents: { bool_contents: [true, false, true] } },
  {
    datatype: 'BYTES',
    raw: Buffer.from(encodeBytesElements(['a', '', 'héllo'].map((text) => Buffer.from(text)))),
    contents: { bytes_contents: ['a', '', 'héllo'].map((text) => Buffer.from(text)) },
  },
];

export const inputName = (datatype: string): string => `in_${datatype.toLowerCase()}`;
const tensorSpec = (datatype: string, name: string) => ({ name, datatype, shape: [3] });

/** The MLP, an identity model over every datatype but FP16 (`every-type`) and an FP16 one (`half`). */
export function everyTypeRepository(): TestRepository {
  return new TestRepository()
    .copy('mlp-classifier', { warmup: { enabled: true, batch_sizes: [1] } })
    .add(
      'every-type',
      {
        platform: 'onnx',
        versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
        max_batch_size: 4,
        inputs: TYPED.map(({ datatype }) => tensorSpec(datatype, inputName(datatype))),
        outputs: TYPED.map(({ datatype }) => tensorSpec(datatype, `out_${inputName(datatype)}`)),
        warmup: { enabled: false },
        price: { usd_per_compute_second: 0 },
      },
      { '1/model.onnx': buildIdentityModel(TYPED.map(({ datatype }) => ({ name: inputName(datatype), datatype, dims: ['batch', 3] }))) },
    )
    .add(
      'half',
      {
        platform: 'onnx',
        versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
        max_batch_size: 4,
        inputs: [tensorSpec('FP16', 'x')],
        outputs: [tensorSpec('FP16', 'out_x')],
        warmup: { enabled: false },
        price: { usd_per_compute_second: 0 },
      },
      { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP16', dims: ['batch', 3] }]) },
    );
}
