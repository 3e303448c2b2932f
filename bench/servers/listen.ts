import type { FastifyInstance } from 'fastify';

/**
 * Listens on HOST/PORT from the environment (set by child-server.ts) and ties the
 * process's life to the bench: the bench holds our stdin open, so EOF means it is gone.
 */
export async function listenAsBenchChild(app: FastifyInstance): Promise<void> {
  app.get('/v2/health/ready', async () => ({ ready: true }));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
}
