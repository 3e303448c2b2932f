import { gunzip, inflate, type ZlibOptions } from 'node:zlib';
import { status } from '@grpc/grpc-js';

/** A call refused at the transport, before the request pipeline: a gRPC status and its text. */
export class FrameError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

type Inflater = (bytes: Buffer, options: ZlibOptions, done: (error: Error | null, result: Buffer) => void) => void;
const promised =
  (inflater: Inflater) =>
  (bytes: Buffer, options: ZlibOptions): Promise<Buffer> =>
    new Promise((resolve, reject) => inflater(bytes, options, (error, result) => (error ? reject(error) : resolve(result))));

const DECOMPRESS: Readonly<Record<string, (bytes: Buffer, options: ZlibOptions) => Promise<Buffer>>> = {
  gzip: promised(gunzip),
  deflate: promised(inflate),
};

/**
 * The one message of a unary call's body (5-byte prefix: compressed flag, big-endian length);
 * limits and texts as grpc-js's server gives them.
 */
export function unaryMessage(body: Buffer, maxBytes: number): { readonly compressed: boolean; readonly message: Buffer } {
  if (body.length < 5) throw new FrameError(status.UNIMPLEMENTED, 'Received no request message for a unary call');
  const length = body.readUInt32BE(1);
  if (length > maxBytes) throw new FrameError(status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${maxBytes})`);
  if (body.length < 5 + length) throw new FrameError(status.INTERNAL, 'Received a truncated message');
  if (body.length > 5 + length) throw new FrameError(status.UNIMPLEMENTED, 'Received a second request message for a unary call');
  return { compressed: body[0] !== 0, message: body.subarray(5) };
}

/** A compressed message in the call's grpc-encoding (gzip or deflate, as grpc-js reads them). */
export async function decompressMessage(message: Buffer, encoding: string, maxBytes: number): Promise<Buffer> {
  // The flag says compressed, the call names no compression: a malformed call, as gRPC's C core reads it.
  if (encoding === 'identity') throw new FrameError(status.INTERNAL, 'Received a compressed message, but the call has no grpc-encoding');
  const decompress = DECOMPRESS[encoding];
  if (!decompress) throw new FrameError(status.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  const plain = await decompress(message, { maxOutputLength: maxBytes + 1 }).catch((error: { code?: string }) => {
    if (error.code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw new FrameError(status.INTERNAL, 'Failed to decompress message');
  });
  if (plain.length > maxBytes) throw tooLarge(maxBytes);
  return plain;
}

const tooLarge = (maxBytes: number): FrameError =>
  new FrameError(status.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${maxBytes}`);

/** Below this a message is copied behind its prefix (one write); above, prefix and message are written as they are. */
const COPY_BELOW = 16 * 1024;

/** One uncompressed message with its 5-byte prefix, as the buffers to write. */
export function frameMessage(message: Buffer): Buffer[] {
  const prefix = Buffer.allocUnsafe(message.length < COPY_BELOW ? 5 + message.length : 5);
  prefix[0] = 0;
  prefix.writeUInt32BE(message.length, 1);
  if (message.length >= COPY_BELOW) return [prefix, message];
  message.copy(prefix, 5);
  return [prefix];
}
