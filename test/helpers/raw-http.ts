import { connect } from 'node:net';

export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly json: Record<string, unknown>;
  /** Body bytes the server accepted before it answered or closed (for uploads it refuses unread). */
  readonly bytesSent: number;
}

/**
 * One HTTP/1.1 request written byte for byte on a socket: for what fetch will not send (a
 * foreign Host, a malformed Content-Length, a body cut short) and for counting how much
 * of an upload the server reads before it answers. `body` may be a length: that many
 * zero bytes are streamed, honouring back-pressure, until the server answers.
 */
export function rawRequest(url: string, head: string, body: Buffer | number = Buffer.alloc(0), timeoutMs = 20_000): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let answered = false;
    let sent = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      let payload = text.slice(split + 4);
      if (headers['content-length'] !== undefined) payload = payload.slice(0, Number(headers['content-length']));
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        json: payload ? (JSON.parse(payload) as Record<string, unknown>) : {},
        bytesSent: sent,
      });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, split));
      // A complete answer: stop sending and close, whatever the server does with the connection.
      if (!answered && split >= 0 && length && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length[1])) {
        answered = true;
        socket.destroy();
        finish();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!answered) {
        answered = true;
        finish();
      }
    });
    socket.on('connect', () => {
      socket.write(`${head.replace(/\n/g, '\r\n')}\r\n\r\n`);
      if (Buffer.isBuffer(body)) {
        socket.write(body);
        sent = body.length;
        return;
      }
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!answered && sent < body) {
          const piece = chunk.subarray(0, Math.min(chunk.length, body - sent));
          sent += piece.length;
          if (!socket.write(piece)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  });
}
