import type { FastifyInstance } from 'fastify';
import { docs, json } from '../openapi/route-docs.js';

export const SERVER_NAME = 'switchyard';
export const SERVER_VERSION = '0.1.0';
/** Only the extensions that are implemented. */
export const EXTENSIONS = [
  'binary_tensor_data',
  'classification',
  'model_repository',
  'statistics',
  'model_configuration',
  'logging',
] as const;

export function serverMetadataRoutes(app: FastifyInstance): void {
  const metadata = async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS });
  const response = {
    type: 'object',
    required: ['name', 'version', 'extensions'],
    properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
  };
  app.get(
    '/v2',
    {
      config: docs({
        tag: 'models',
        summary: 'Server metadata (OIP)',
        responses: { 200: { description: 'Name, version and the extensions implemented.', content: json(response) } },
      }),
    },
    metadata,
  );
}
