/**
 * The HTTP ceiling: fastify parsing the same JSON request and sending a gateway-sized
 * reply, with no inference. No server that does inference over HTTP can beat it here.
 */
import Fastify from 'fastify';
import { listenAsBenchChild } from './listen.js';
import { firstInput, sendLikeGateway } from './oip-reply.js';

const app = Fastify({ logger: false });

app.post<{ Params: { model: string } }>('/v2/models/:model/infer', async (request, reply) => {
  const input = firstInput(request.body);
  if (!input || input.length < 10) return reply.code(400).send({ error: 'expected inputs[0].data with numbers' });
  // Ten numbers derived from the input, so the parsed body is used like a model would.
  const head = input.slice(0, 10);
  const max = Math.max(...head);
  const exps = head.map((value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return sendLikeGateway(
    reply,
    request.params.model,
    Float32Array.from(exps, (value) => value / sum),
    0,
  );
});

await listenAsBenchChild(app);
