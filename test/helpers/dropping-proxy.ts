import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a gateway that loses the first answer: it forwards the first
 * connection's request, then cuts the caller off as soon as the answer starts (or, with
 * `cutAfter`, once the answer has passed that text). The request ran; the caller saw a
 * connection failure. Later connections pass through.
 */
export async function droppingProxy(
  target: string,
  cutAfter?: string,
): Promise<{ url: string; dropped: () => number; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  let connections = 0;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((caller) => {
    connections += 1;
    const drop = connections === 1;
    const upstream = connect(Number(port), hostname);
    for (const socket of [caller, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    caller.pipe(upstream);
    if (!drop) {
      upstream.pipe(caller);
    } else {
      let seen = '';
      upstream.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        const end = cutAfter === undefined ? -1 : (seen + text).indexOf(cutAfter);
        seen += text;
        if (cutAfter !== undefined && end < 0) return void caller.write(chunk);
        if (end >= 0) caller.write(chunk.subarray(0, end + cutAfter!.length - (seen.length - text.length)));
        dropped += 1;
        caller.destroy();
        upstream.destroy();
      });
    }
    caller.on('close', () => upstream.destroy());
    upstream.on('close', () => caller.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    dropped: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
