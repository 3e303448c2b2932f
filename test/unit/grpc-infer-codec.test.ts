import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import { readInferRequest } from '../../gateway/grpc/infer-request-reader.js';
import { BytesLayout } from '../../gateway/grpc/bytes-layout.js';
import { withElementLists } from '../../gateway/grpc/decode-infer-request.js';
import { writeInferResponse } from '../../gateway/grpc/infer-response-writer.js';

// proto-loader's own codec for the same messages: the reader and writer must agree with it.
const { definition } = loadInferenceService();
const protoLoader = definition.ModelInfer!.requestSerialize;
const genericRead = (bytes: Buffer): unknown => {
  const method = loadInferenceService().packageDefinition['inference.GRPCInferenceService'] as Record<
    string,
    { requestDeserialize(bytes: Buffer): unknown; responseDeserialize(bytes: Buffer): unknown }
  >;
  return method.ModelInfer!.requestDeserialize(bytes);
};
const genericResponse = (bytes: Buffer): unknown => {
  const method = loadInferenceService().packageDefinition['inference.GRPCInferenceService'] as Record<
    string,
    { responseDeserialize(bytes: Buffer): unknown }
  >;
  return method.ModelInfer!.responseDeserialize(bytes);
};
/** Buffers as arrays and keys sorted, so two decodings compare by content. */
const plain = (value: unknown): unknown => {
  if (Buffer.isBuffer(value)) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, plain((value as Record<string, unknown>)[key])]),
    );
  return value;
};
/** proto-loader leaves out empty repeated fields; the reader gives them as []. */
const withEmptyLists = (value: Record<string, unknown>): Record<string, unknown> => ({
  inputs: [],
  outputs: [],
  raw_input_contents: [],
  ...value,
});

describe('the ModelInferRequest reader', () => {
  it('reads every field as proto-loader does: parameters of each kind, typed contents, 64-bit values exactly, raw bytes', () => {
    const message = {
      model_name: 'mlp-classifier',
      model_version: '2',
      id: 'call-1',
      parameters: {
        priority: { int64_param: '9007199254740993' },
        flag: { bool_param: true },
        text: { string_param: 'é' },
        ratio: { double_param: 0.25 },
        big: { uint64_param: '18446744073709551615' },
      },
      inputs: [
        {
          name: 'a',
          datatype: 'INT64',
          shape: ['2', '1'],
          parameters: { p: { string_param: 'q' } },
          contents: { int64_contents: ['-5', '9007199254740993'] },
        },
        { name: 'b', datatype: 'BYTES', shape: ['2'], contents: { bytes_contents: [Buffer.from('hi'), Buffer.alloc(0)] } },
        { name: 'c', datatype: 'FP32', shape: ['3'], contents: { fp32_contents: [1.5, -2, 0.1] } },
        {
          name: 'd',
          datatype: 'BOOL',
          shape: ['2'],
          contents: {
            bool_contents: [true, false],
            uint_contents: [7],
            uint64_contents: ['18446744073709551615'],
            fp64_contents: [1e300],
            int_contents: [-3],
          },
        },
      ],
      outputs: [{ name: 'probabilities', parameters: { binary_data: { bool_param: true } } }, { name: 'other' }],
    };
    const bytes = protoLoader(message);
    // bytes_contents come laid out as BYTES data; as element lists they are proto-loader's.
    const read = readInferRequest(bytes);
    expect(read.inputs![1]!.contents!.bytes_contents).toBeInstanceOf(BytesLayout);
    expect(plain(withElementLists(read))).toEqual(plain(withEmptyLists(genericRead(bytes) as Record<string, unknown>)));
  });

  it('gives raw_input_contents as views into the message, not copies', () => {
    const raw = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const bytes = protoLoader({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: ['4'] }], raw_input_contents: [raw] });
    const read = readInferRequest(bytes).raw_input_contents![0]!;
    expect([...read]).toEqual([...raw]);
    expect(read.buffer).toBe(bytes.buffer);
  });

  it('reads unpacked repeated scalars (proto3 parsers must take both encodings) and skips unknown fields', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((1 << 3) | 2).string('m');
    writer.uint32((5 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string('x');
    writer.uint32((2 << 3) | 2).string('INT32');
    writer.uint32((3 << 3) | 0).int64(1); // shape, one tag per element
    writer.uint32((3 << 3) | 0).int64(2);
    writer.uint32((5 << 3) | 2).fork();
    writer.uint32((2 << 3) | 0).int32(-7);
    writer.uint32((2 << 3) | 0).int32(8);
    writer.ldelim();
    writer.uint32((99 << 3) | 2).string('a field from a newer client');
    writer.ldelim();
    writer.uint32((42 << 3) | 0).uint32(5);
    const bytes = writer.finish() as Buffer;
    const read = readInferRequest(bytes);
    expect(read.inputs![0]!.shape).toEqual(['1', '2']);
    expect(read.inputs![0]!.contents).toEqual({ int_contents: [-7, 8] });
    expect(plain(read)).toEqual(plain(withEmptyLists(genericRead(bytes) as Record<string, unknown>)));
  });

  it('reads an empty message as no fields, and refuses a truncated one', () => {
    expect(readInferRequest(Buffer.alloc(0))).toEqual({ inputs: [], outputs: [], raw_input_contents: [] });
    const bytes = protoLoader({ model_name: 'mlp-classifier', inputs: [{ name: 'x', datatype: 'FP32', shape: ['4'] }] });
    expect(() => readInferRequest(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});

describe('the ModelInferResponse writer', () => {
  it('writes what proto-loader reads back: parameters by type, outputs and their raw bytes', () => {
    const bytes = writeInferResponse({
      model_name: 'mlp-classifier',
      model_version: '1',
      id: 'call-1',
      parameters: { request_id: 'r-1', queue_ms: 0.25, batch_size: 3, escalated: false, review: { id: 'z' }, absent: undefined },
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: new Float32Array([0.25, 0.75]) },
        { name: 'ids', datatype: 'INT64', shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) },
      ],
    });
    expect(plain(genericResponse(bytes))).toEqual(
      plain({
        model_name: 'mlp-classifier',
        model_version: '1',
        id: 'call-1',
        parameters: {
          request_id: { string_param: 'r-1', parameter_choice: 'string_param' },
          queue_ms: { double_param: 0.25, parameter_choice: 'double_param' },
          batch_size: { int64_param: '3', parameter_choice: 'int64_param' },
          escalated: { bool_param: false, parameter_choice: 'bool_param' },
          review: { string_param: '{"id":"z"}', parameter_choice: 'string_param' },
        },
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: ['1', '2'] },
          { name: 'ids', datatype: 'INT64', shape: ['2'] },
        ],
        raw_output_contents: [Buffer.from(new Float32Array([0.25, 0.75]).buffer), Buffer.from(new BigInt64Array([-1n, 2n ** 40n]).buffer)],
      }),
    );
  });
});
