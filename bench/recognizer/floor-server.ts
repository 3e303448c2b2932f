/**
 * The floor under any HTTP server for the recognizer on these cores: node:http, the best raw layout's
 * sessions (FLOOR_SESSIONS x FLOOR_THREADS) each on a thread of its own, and nothing else. It reads the binary
 * tensor extension's header and copies the tensor's bytes once, from the socket's chunks straight
 * into an aligned buffer that moves to a session's thread; it answers the header and the output
 * tensor as tritonclient asks, with no routing, validation, logging, metrics or policy. What it costs
 * beyond the raw sessions is what any server on the same cores pays to move 184 KB in and 1 MB out
 * per row. It runs rows one at a time (the raw best here is unbatched); `npm run bench:recognizer`
 * measures it beside the gateway and the raw best.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';

const modelPath = process.env.FLOOR_MODEL_PATH!;
const sessions = Number(process.env.FLOOR_SESSIONS ?? 2);
const threadsEach = Number(process.env.FLOOR_THREADS ?? 1);
const script = new URL('./floor-thread.js', import.meta.url);

interface Row {
  readonly data: Float32Array;
  readonly width: number;
  readonly res: ServerResponse;
}
const threads = Array.from({ length: sessions }, () => new Worker(script, { workerData: { modelPath, threads: threadsEach } }));
await Promise.all(threads.map((thread) => new Promise((resolve) => thread.once('message', resolve))));
const idle = [...threads];
const waiting: Row[] = [];
const running = new Map<number, { row: Row; thread: Worker }>();
let nextId = 1;

function dispatch(): void {
  while (idle.length > 0 && waiting.length > 0) {
    const thread = idle.pop()!;
    const row = waiting.shift()!;
    const id = nextId++;
    running.set(id, { row, thread });
    thread.postMessage({ id, data: row.data, width: row.width }, [row.data.buffer as ArrayBuffer]);
  }
}
for (const thread of threads) {
  thread.on('message', ({ id, dims, data }: { id: number; dims: number[]; data: Float32Array }) => {
    const { row } = running.get(id)!;
    running.delete(id);
    idle.push(thread);
    dispatch();
    const header = Buffer.from(
      JSON.stringify({
        model_name: 'text-recognizer',
        model_version: '1',
        outputs: [{ name: 'softmax_11.tmp_0', datatype: 'FP32', shape: dims, parameters: { binary_data_size: data.byteLength } }],
      }),
    );
    row.res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
      'content-length': String(header.length + data.byteLength),
    });
    row.res.write(header);
    row.res.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET') {
    res.end('{"ready":true}');
    return;
  }
  const length = Number(req.headers['content-length']);
  const headerLength = Number(req.headers['inference-header-content-length']);
  const header = Buffer.allocUnsafe(headerLength);
  const data = new Float32Array((length - headerLength) / 4);
  const bytes = new Uint8Array(data.buffer);
  let at = 0;
  req.on('data', (chunk: Buffer) => {
    // Each chunk's bytes go once, to the header or straight into the tensor.
    const toHeader = Math.max(0, Math.min(chunk.length, headerLength - at));
    if (toHeader > 0) chunk.copy(header, at, 0, toHeader);
    if (chunk.length > toHeader) bytes.set(chunk.subarray(toHeader), at + toHeader - headerLength);
    at += chunk.length;
  });
  req.on('end', () => {
    const shape = (JSON.parse(header.toString()) as { inputs: { shape: number[] }[] }).inputs[0]!.shape;
    waiting.push({ data, width: shape[3]!, res });
    dispatch();
  });
}

const server = createServer({ keepAliveTimeout: 60_000 }, onRequest);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.once('SIGTERM', () => process.exit(0));
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
