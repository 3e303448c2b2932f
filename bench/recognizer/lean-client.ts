import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LeanLoadOptions {
  readonly url: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly connections: number;
  readonly seconds: number;
  /** Checks each answer's status and headers (the body is counted, not kept); a string fails the run. */
  readonly check?: (status: number, headers: ReadonlyMap<string, string>) => string | undefined;
}

export interface LeanLoadResult {
  readonly answered: number;
  readonly non2xx: number;
  readonly latenciesMs: number[];
}

const HEADER_END = Buffer.from('\r\n\r\n');
/** Each connection reads into one buffer of this size, again and again (net's `onread`). */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * A closed-loop HTTP/1.1 keep-alive load generator that reads answers as a client library that
 * keeps binary bodies as bytes does (tritonclient's): the status line and headers are parsed, the
 * body's bytes are counted. Every byte of every answer is read from the socket, into one buffer per
 * connection that each read reuses: a new 64 KB buffer per read (a socket's 'data' events) made
 * the client, which shares the server's cores, collect 16 of them per 1 MB answer. autocannon
 * appends every body chunk to a string (a UTF-8 decode of the 1 MB tensor per answer), which on a
 * 2-core machine took a third of the CPU the server needed.
 */
export async function leanLoad(options: LeanLoadOptions): Promise<LeanLoadResult> {
  const { hostname, port } = new URL(options.url);
  const head = Object.entries({ ...options.headers, 'content-length': String(options.body.length) })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const request = Buffer.concat([Buffer.from(`POST ${options.path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n${head}\r\n`), options.body]);
  const result = { answered: 0, non2xx: 0, latenciesMs: [] as number[] };
  const deadline = performance.now() + options.seconds * 1000;
  let failure: Error | undefined;
  const runConnection = (): Promise<void> =>
    new Promise((resolve, reject) => {
      /** Header bytes of an answer that came in several reads (copied: the read buffer is reused). */
      let pending: Buffer | undefined;
      let remaining = -1;
      let sentAt = 0;
      const send = (): void => {
        if (performance.now() >= deadline || failure) {
          socket.end();
          resolve();
          return;
        }
        sentAt = performance.now();
        socket.write(request);
      };
      const finish = (): void => {
        result.latenciesMs.push(performance.now() - sentAt);
        result.answered += 1;
        remaining = -1;
        send();
      };
      const onRead = (bytesRead: number, buffer: Uint8Array): boolean => {
        let data = Buffer.from(buffer.buffer, buffer.byteOffset, bytesRead);
        while (data.length > 0) {
          if (remaining >= 0) {
            const used = Math.min(remaining, data.length);
            remaining -= used;
            data = data.subarray(used);
            if (remaining === 0) finish();
            continue;
          }
          const joined = pending ? Buffer.concat([pending, data]) : data;
          const end = joined.indexOf(HEADER_END);
          if (end < 0) {
            pending = Buffer.from(joined);
            return true;
          }
          pending = undefined;
          const lines = joined.subarray(0, end).toString('latin1').split('\r\n');
          const status = Number(lines[0]!.split(' ')[1]);
          const headers = new Map(
            lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
          );
          if (status < 200 || status > 299) result.non2xx += 1;
          const problem = options.check?.(status, headers) ?? (headers.has('content-length') ? undefined : 'no content-length');
          if (problem) {
            failure = new Error(`answer ${result.answered + 1}: ${problem}`);
            socket.destroy();
            reject(failure);
            return false;
          }
          data = joined.subarray(end + HEADER_END.length);
          remaining = Number(headers.get('content-length'));
          if (remaining === 0) finish();
        }
        return true;
      };
      const socket: Socket = connect({
        host: hostname,
        port: Number(port),
        noDelay: true,
        onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead },
      });
      socket.on('connect', send);
      socket.on('error', reject);
    });
  await Promise.all(Array.from({ length: options.connections }, runConnection));
  if (failure) throw failure;
  return result;
}
