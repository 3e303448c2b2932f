import { connect, type Socket } from 'node:net';

/**
 * A minimal HTTP/2 client for unary gRPC load: what autocannon is to HTTP/1.1 (requests written
 * as prepared bytes on a socket, answers read only as far as success or failure). node:http2's
 * client costs about 60 µs more per call than autocannon on the bench machine (a Duplex and an
 * AsyncResource per stream, header objects both ways), which on two shared cores would be
 * charged to the gateway. It reads no header values: a call succeeded when its answer carried a
 * message and ended with trailers (the gateway answers every failure trailers-only, no message).
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const Type = { Data: 0, Headers: 1, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, WindowUpdate: 8 } as const;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const MAX_FRAME = 16_384;
/** Our receive windows, large enough that answers never wait for a window update. */
const RECEIVE_WINDOW = 2 ** 30;

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.allocUnsafe(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return payload.length === 0 ? header : Buffer.concat([header, payload]);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const bytes = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

const hpackString = (text: string): number[] => [...hpackInt(Buffer.byteLength(text), 7, 0), ...Buffer.from(text)];

/** A request's header block, literal fields without indexing (no dynamic table to keep). */
export function requestHeaderBlock(authority: string, path: string, extra: Readonly<Record<string, string>>): Buffer {
  const bytes = [
    0x83, // :method POST (static 3)
    0x86, // :scheme http (static 6)
    ...hpackInt(4, 4, 0), // :path (static name 4)
    ...hpackString(path),
    ...hpackInt(1, 4, 0), // :authority (static name 1)
    ...hpackString(authority),
    ...hpackInt(31, 4, 0), // content-type (static name 31)
    ...hpackString('application/grpc'),
  ];
  for (const [name, value] of Object.entries({ te: 'trailers', ...extra })) bytes.push(0, ...hpackString(name), ...hpackString(value));
  return Buffer.from(bytes);
}

/** What became of one call. */
export type CallEnd = 'ok' | 'failed' | 'reset';

interface Pending {
  readonly done: (end: CallEnd) => void;
  message: boolean;
}

/** One HTTP/2 connection carrying unary calls; `call` sends a prepared header block and framed message. */
export class H2Connection {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #waiting: (() => void)[] = [];
  #nextStream = 1;
  #sendWindow = 65_535;
  #streamWindow = 65_535;
  #consumed = 0;
  #buffer = Buffer.alloc(0);
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.#fail());
  }

  static open(host: string, port: number): Promise<H2Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        const settings = Buffer.alloc(12);
        settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
        settings.writeUInt32BE(0, 2);
        settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
        settings.writeUInt32BE(RECEIVE_WINDOW, 8);
        const increment = Buffer.alloc(4);
        increment.writeUInt32BE(RECEIVE_WINDOW - 65_535, 0);
        socket.write(Buffer.concat([PREFACE, frame(Type.Settings, 0, 0, settings), frame(Type.WindowUpdate, 0, 0, increment)]));
        resolve(new H2Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  /**
   * One unary call: resolves when its stream ends. The message must fit the server's initial
   * stream window (64 KiB unless it says more; the bench sends 2 KiB): a stream's window is not
   * waited on, only the connection's.
   */
  call(headerBlock: Buffer, message: Buffer): Promise<CallEnd> {
    if (message.length > this.#streamWindow)
      return Promise.reject(new Error(`a ${message.length}-byte message exceeds the server's stream window (${this.#streamWindow})`));
    if (this.#closed) return Promise.resolve('reset');
    return new Promise((done) => {
      const send = (): void => {
        if (this.#closed) return done('reset');
        if (message.length > this.#sendWindow) {
          this.#waiting.push(send);
          return;
        }
        this.#sendWindow -= message.length;
        const stream = this.#nextStream;
        this.#nextStream += 2;
        this.#pending.set(stream, { done, message: false });
        const frames = [frame(Type.Headers, END_HEADERS, stream, headerBlock)];
        for (let at = 0; at < message.length || at === 0; at += MAX_FRAME) {
          const last = at + MAX_FRAME >= message.length;
          frames.push(frame(Type.Data, last ? END_STREAM : 0, stream, message.subarray(at, at + MAX_FRAME)));
          if (last) break;
        }
        this.#socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
      };
      send();
    });
  }

  close(): void {
    this.#socket.end();
  }

  #fail(): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.done('reset');
    this.#pending.clear();
    for (const send of this.#waiting.splice(0)) send();
  }

  #end(stream: number, end: CallEnd): void {
    const pending = this.#pending.get(stream);
    if (!pending) return;
    this.#pending.delete(stream);
    pending.done(end === 'ok' && !pending.message ? 'failed' : end);
  }

  #read(chunk: Buffer): void {
    let data = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (data.length >= 9) {
      const length = data.readUIntBE(0, 3);
      if (data.length < 9 + length) break;
      const type = data[3]!;
      const flags = data[4]!;
      const stream = data.readUInt32BE(5) & 0x7fffffff;
      this.#frame(type, flags, stream, data.subarray(9, 9 + length));
      data = data.subarray(9 + length);
    }
    this.#buffer = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
  }

  #frame(type: number, flags: number, stream: number, payload: Buffer): void {
    switch (type) {
      case Type.Data: {
        const pending = this.#pending.get(stream);
        if (pending && payload.length > 0) pending.message = true;
        // Give the connection window back in large steps (stream windows are never exhausted).
        this.#consumed += payload.length;
        if (this.#consumed > RECEIVE_WINDOW / 2) {
          const increment = Buffer.alloc(4);
          increment.writeUInt32BE(this.#consumed, 0);
          this.#socket.write(frame(Type.WindowUpdate, 0, 0, increment));
          this.#consumed = 0;
        }
        if (flags & END_STREAM) this.#end(stream, 'failed');
        break;
      }
      case Type.Headers:
        // A call's answer ends with a header block flagged END_STREAM: its trailers.
        if (flags & END_STREAM) this.#end(stream, 'ok');
        break;
      case Type.RstStream:
        this.#end(stream, 'reset');
        break;
      case Type.Settings:
        if (flags & ACK) break;
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          if (payload.readUInt16BE(at) === 0x4) this.#streamWindow = payload.readUInt32BE(at + 2);
        }
        this.#socket.write(frame(Type.Settings, ACK, 0));
        break;
      case Type.Ping:
        if (!(flags & ACK)) this.#socket.write(frame(Type.Ping, ACK, 0, payload));
        break;
      case Type.WindowUpdate:
        if (stream === 0) this.#sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
        for (const send of this.#waiting.splice(0)) send();
        break;
      case Type.GoAway:
        this.#socket.destroy();
        break;
    }
  }
}
