import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { encodeInferResponse } from '../../gateway/protocol/encode-infer-response.js';
import { BodyParts } from '../../gateway/protocol/binary-body.js';
import { splitBatchOutputs } from '../../workers/runtime/batch-rows.js';
import type { Tensor } from '../../workers/protocol/tensor.js';

const input = (rows: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [rows, 4], data: new Float32Array(rows * 4) });
const output = (rows: number, width: number): Tensor => ({
  name: 'y',
  datatype: 'FP32',
  shape: [rows, width],
  data: new Float32Array(rows * width).map((_, i) => i * 0.5),
});

/** Posts a message across a real MessagePort with the given transfer list and reads it on the other side. */
function cross<T>(message: T, transfer: ArrayBuffer[]): T {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(message, transfer);
  const received = receiveMessageOnPort(port2)!.message as T;
  port1.close();
  return received;
}

describe('outputs leaving an instance thread', () => {
  it("hand over the runtime's own buffer for a one-request batch: transferred (detached here), not copied", () => {
    const produced = output(1, 1024);
    const expected = Array.from(produced.data as Float32Array);
    const { outputs, buffers } = splitBatchOutputs({ requests: [{ inputs: [input(1)] }], outputs: ['y'] }, [produced]);
    expect(outputs[0]![0]!.data.buffer).toBe(produced.data.buffer);
    expect(buffers).toEqual([produced.data.buffer]);
    const received = cross(outputs, buffers);
    expect(produced.data.buffer.byteLength).toBe(0);
    expect(Array.from(received[0]![0]!.data as Float32Array)).toEqual(expected);
  });

  it("cut a batch's output into each request's rows, each on a buffer of its own that is transferred", () => {
    const produced = output(3, 8);
    const expected = Array.from(produced.data as Float32Array);
    const batch = { requests: [{ inputs: [input(1)] }, { inputs: [input(2)] }], outputs: ['y'] };
    const { outputs, buffers } = splitBatchOutputs(batch, [produced]);
    expect(buffers).toHaveLength(2);
    const received = cross(outputs, buffers);
    for (const buffer of buffers) expect(buffer.byteLength).toBe(0);
    expect(received.map((tensors) => tensors[0]!.shape)).toEqual([
      [1, 8],
      [2, 8],
    ]);
    expect([...(received[0]![0]!.data as Float32Array), ...(received[1]![0]!.data as Float32Array)]).toEqual(expected);
  });
});

describe('a binary answer', () => {
  const head = { model_name: 'm', model_version: '1', parameters: {} };

  it('keeps a large output in its own memory: the body is the JSON header, then a view of the tensor', () => {
    const tensor = output(1, 32 * 1024);
    const { body, headerLength } = encodeInferResponse(head, [tensor], [], true);
    expect(body).toBeInstanceOf(BodyParts);
    const parts = (body as BodyParts).parts;
    expect(parts[1]!.buffer).toBe(tensor.data.buffer);
    expect(parts[0]!.byteLength).toBe(headerLength);
    expect((body as BodyParts).toBuffer().subarray(headerLength!)).toEqual(Buffer.from(tensor.data.buffer));
  });

  it('joins a small output into one buffer', () => {
    const { body, headerLength } = encodeInferResponse(head, [output(1, 10)], [], true);
    expect(Buffer.isBuffer(body)).toBe(true);
    expect((body as Buffer).length).toBe(headerLength! + 40);
  });
});
