import type { FastifyInstance } from 'fastify';

export const SERVER_NAME = 'switchyard';
export const SERVER_VERSION = '0.1.0';
/** Only the extensions that are implemented. */
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration', 'logging'] as const;

export function serverMetadataRoutes(app: FastifyInstance): void {
  const metadata = async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS });
  app.get('/v2', metadata);
}
