import { Server, ServerCredentials, Client, credentials } from '@grpc/grpc-js';
import net from 'node:net';
const nodelay = process.argv[2] === 'nodelay';
const id = (b) => b;
const def = { Echo: { path: '/t.T/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } };
const server = new Server();
server.addService(def, { Echo: (call, cb) => cb(null, call.request) });
const port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => e ? rej(e) : res(p)));
if (nodelay) for (const [, s] of server.http2Servers) s.server?.on?.('connection', (sock) => sock.setNoDelay(true));
if (nodelay) { for (const v of server.http2Servers.keys()) v.on('connection', (sock) => sock.setNoDelay(true)); }
const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
const call = (msg) => new Promise((res, rej) => client.makeUnaryRequest('/t.T/Echo', id, id, msg, (e, r) => e ? rej(e) : res(r)));
const msg = Buffer.alloc(Number(process.argv[3] ?? 0));
for (let i = 0; i < 50; i++) await call(msg);
const t = [];
for (let i = 0; i < 300; i++) { const s = performance.now(); await call(msg); t.push(performance.now() - s); }
t.sort((a, b) => a - b);
console.log(process.argv[2], 'size', msg.length, 'p50', t[150].toFixed(3), 'p90', t[270].toFixed(3));
client.close(); server.forceShutdown();
