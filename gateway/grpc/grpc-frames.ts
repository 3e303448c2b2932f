import type { Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
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

/** Inflaters by grpc-encoding, read as a stream so each piece is counted as it comes. */
const INFLATERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => createGunzip({ chunkSize: 64 * 1024 }),
  deflate: () => createInflate({ chunkSize: 64 * 1024 }),
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

/**
 * A compressed message in the call's grpc-encoding (gzip or deflate, as grpc-js reads them).
 * `take` is shown each inflated piece as it comes and may throw to stop (the gateway's body
 * memory): a small message must not become hundreds of megabytes uncounted.
 */
export async function decompressMessage(
  message: Buffer,
  encoding: string,
  maxBytes: number,
  take: (bytes: number) => void = () => undefined,
): Promise<Buffer> {
  // The flag says compressed, the call names no compression: a malformed call, as gRPC's C core reads it.
  if (encoding === 'identity') throw new FrameError(status.INTERNAL, 'Received a compressed message, but the call has no grpc-encoding');
  const inflater = INFLATERS[encoding];
  if (!inflater) throw new FrameError(status.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  return new Promise<Buffer>((resolve, reject) => {
    const stream = inflater();
    const pieces: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.destroy();
      reject(error);
    };
    stream.on('data', (piece: Buffer) => {
      if (failed) return;
      size += piece.length;
      if (size > maxBytes) return fail(tooLarge(maxBytes));
      try {
        take(piece.length);
      } catch (error) {
        return fail(error);
      }
      pieces.push(piece);
    });
    stream.on('error', () => fail(new FrameError(status.INTERNAL, 'Failed to decompress message')));
    stream.on('end', () => {
      if (!failed) resolve(Buffer.concat(pieces, size));
    });
    stream.end(message);
  });
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
