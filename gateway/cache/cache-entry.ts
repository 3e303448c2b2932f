import { isDatatype, viewBytes } from '../../workers/protocol/datatypes.js';
import type { Tensor } from '../../workers/protocol/tensor.js';

/** Whose answer an entry is: checked on every hit, so a key collision can never cross models or tenants. */
export interface EntryOwner {
  readonly model: string;
  readonly version: string;
  readonly scope: string;
}

interface EntryHead extends EntryOwner {
  readonly outputs: readonly {
    readonly name: string;
    readonly datatype: string;
    readonly shape: readonly number[];
    readonly bytes: number;
  }[];
}

/**
 * One cached answer as bytes, the same in memory and in Redis: a uint32 LE header length, a
 * JSON header (owner, output names, datatypes, shapes, sizes), then each output's raw bytes.
 * Keeping bytes, not the tensors, means nothing a later request does to a tensor (a runtime
 * transferring it to a thread, a pipeline feeding it on) can reach the cache.
 */
export function encodeEntry(owner: EntryOwner, outputs: readonly Tensor[]): Buffer {
  const head: EntryHead = {
    ...owner,
    outputs: outputs.map((tensor) => ({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: tensor.shape,
      bytes: tensor.data.byteLength,
    })),
  };
  const json = Buffer.from(JSON.stringify(head));
  const total = outputs.reduce((sum, tensor) => sum + tensor.data.byteLength, 4 + json.byteLength);
  const entry = Buffer.allocUnsafe(total);
  entry.writeUInt32LE(json.byteLength, 0);
  json.copy(entry, 4);
  let offset = 4 + json.byteLength;
  for (const tensor of outputs) {
    entry.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), offset);
    offset += tensor.data.byteLength;
  }
  return entry;
}

/** Heads already read, per entry: the memory store hands back the same bytes on every hit. */
const heads = new WeakMap<Uint8Array, { readonly head: EntryHead; readonly offset: number } | null>();

function readHead(entry: Uint8Array): { readonly head: EntryHead; readonly offset: number } | null {
  let read = heads.get(entry);
  if (read !== undefined) return read;
  read = null;
  if (entry.byteLength >= 4) {
    const view = Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength);
    const headLength = view.readUInt32LE(0);
    if (4 + headLength <= view.byteLength) {
      try {
        const head = JSON.parse(view.toString('utf8', 4, 4 + headLength)) as EntryHead;
        if (Array.isArray(head.outputs)) read = { head, offset: 4 + headLength };
      } catch {
        read = null;
      }
    }
  }
  heads.set(entry, read);
  return read;
}

/** The outputs of an entry, each in a buffer of its own; undefined when it is not `owner`'s or is damaged. */
export function decodeEntry(entry: Uint8Array, owner: EntryOwner): Tensor[] | undefined {
  const read = readHead(entry);
  if (!read) return undefined;
  const { head } = read;
  if (head.model !== owner.model || head.version !== owner.version || head.scope !== owner.scope) return undefined;
  let offset = read.offset;
  const tensors: Tensor[] = [];
  for (const output of head.outputs) {
    if (!isDatatype(output.datatype) || offset + output.bytes > entry.byteLength) return undefined;
    const copy = new Uint8Array(output.bytes);
    copy.set(entry.subarray(offset, offset + output.bytes));
    tensors.push({ name: output.name, datatype: output.datatype, shape: [...output.shape], data: viewBytes(output.datatype, copy) });
    offset += output.bytes;
  }
  return offset === entry.byteLength ? tensors : undefined;
}
