import type { ClientHttp2Session } from 'node:http2';

/** A message framed with its 5-byte prefix, compressed (flag 1) or not. */
export function framed(body: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/**
 * One ModelInfer written as bytes on a raw HTTP/2 session (for what grpc-js clients will not
 * send: a prepared or compressed frame, odd grpc-timeout values): its response headers and
 * trailers together (grpc-status, x-error-code).
 */
export function rawModelInfer(
  session: ClientHttp2Session,
  frame: Buffer,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/inference.GRPCInferenceService/ModelInfer',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let seen: Record<string, string> = {};
    stream.on('response', (head) => (seen = { ...seen, ...(head as Record<string, string>) }));
    stream.on('trailers', (trailers) => (seen = { ...seen, ...(trailers as Record<string, string>) }));
    stream.on('data', () => undefined);
    stream.on('end', () => resolve(seen));
    stream.on('error', reject);
    stream.end(frame);
  });
}
