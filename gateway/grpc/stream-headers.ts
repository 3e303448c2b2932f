import type { IncomingHttpHeaders } from 'node:http2';
import type { MetadataReader } from './grpc-call.js';

/** A call's request headers read as grpc-js reads metadata: `-bin` values base64-decoded, repeated keys as a list. */
export class HeaderMetadata implements MetadataReader {
  constructor(private readonly headers: IncomingHttpHeaders) {}

  get(key: string): readonly unknown[] {
    const value = this.headers[key];
    if (value === undefined) return [];
    const values = Array.isArray(value) ? value : [value];
    return key.endsWith('-bin') ? values.map((text) => Buffer.from(text, 'base64')) : values;
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** grpc-timeout (up to 8 digits and a unit) in milliseconds; undefined when absent, NaN when malformed. */
export function timeoutMs(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(\d{1,8})\s*([HMSmun])$/.exec(String(header));
  return match ? Math.trunc(Number(match[1]) * UNIT_MS[match[2]!]!) : Number.NaN;
}

/** The caller as grpc-js's getPeer() names it (`address:port`). */
export function peerOf(socket: { readonly remoteAddress?: string; readonly remotePort?: number } | undefined): string {
  if (!socket?.remoteAddress) return 'unknown';
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
}
