/**
 * The naive server: fastify and one onnxruntime-node session on the main thread, one
 * session.run per request. What the gateway's threads and dynamic batching must beat.
 */
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { createSession, runBatch } from '../ort-session.js';
import { MODEL_PATH } from '../settings.js';
import { listenAsBenchChild } from './listen.js';
import { firstInput, sendLikeGateway } from './oip-reply.js';

const session = await createSession(MODEL_PATH);
await runBatch(session, new Float32Array(512).fill(0.5), 1); // first run allocates; keep it out of the numbers

const app = Fastify({ logger: false });

app.post<{ Params: { model: string } }>('/v2/models/:model/infer', async (request, reply) => {
  const input = firstInput(request.body);
  if (input?.length !== 512) return reply.code(400).send({ error: 'expected inputs[0].data with 512 numbers' });
  const start = performance.now();
  const probabilities = await runBatch(session, Float32Array.from(input), 1);
  return sendLikeGateway(reply, request.params.model, probabilities, performance.now() - start);
});

await listenAsBenchChild(app);
