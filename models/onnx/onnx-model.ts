/**
 * Reads and writes ONNX model files with the complete onnx.proto schema (models/onnx/onnx.proto),
 * so a decode → encode round trip keeps every field the specification defines.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ModelProto as ModelMessage } from './onnx-messages.js';

export * from './onnx-constants.js';
export * from './onnx-builders.js';
export type * from './onnx-messages.js';

/**
 * tsc does not copy .proto files into dist/, so the schema is looked up next to this module
 * (sources, run by tsx/vitest) and then at its place in the source tree (dist/models/onnx/).
 */
const SCHEMA_CANDIDATES = [new URL('./onnx.proto', import.meta.url), new URL('../../../models/onnx/onnx.proto', import.meta.url)];

export function onnxSchemaPath(): string {
  const found = SCHEMA_CANDIDATES.map((url) => fileURLToPath(url)).find((path) => existsSync(path));
  if (!found) throw new Error(`onnx.proto not found; looked at ${SCHEMA_CANDIDATES.map((url) => fileURLToPath(url)).join(', ')}`);
  return found;
}

/** The parsed schema; every message of onnx.proto is `onnxSchema.lookupType('onnx.<Name>')`. */
export const onnxSchema: protobuf.Root = protobuf.loadSync(onnxSchemaPath());
onnxSchema.resolveAll();

export const ModelProto: protobuf.Type = onnxSchema.lookupType('onnx.ModelProto');

/** Decodes a .onnx file. int64 fields come back as Long, so no bits are lost. */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  return ModelProto.decode(bytes) as unknown as ModelMessage;
}

/**
 * Encodes a model, decoded or built from plain objects, into .onnx bytes. Fields are written
 * in field-number order, as protoc-generated writers do, which is what makes round trips byte-identical.
 */
export function encodeModel(model: ModelMessage): Uint8Array {
  return ModelProto.encode(model).finish();
}
