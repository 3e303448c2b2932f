import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { adminOnly } from '../auth/authenticate.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { docs, json } from '../openapi/route-docs.js';
import { changeLogSettings, logSettingsOf } from '../request/log-settings.js';

/** The JSON body of a change: an object of settings, checked by changeLogSettings. */
function updateOf(body: unknown): Record<string, unknown> {
  let update: unknown;
  try {
    update = Buffer.isBuffer(body) && body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
  } catch {
    throw new ServingError('invalid_json', 'the log settings are not valid JSON');
  }
  if (typeof update !== 'object' || update === null || Array.isArray(update))
    throw new ServingError('invalid_request', 'log settings must be a JSON object');
  return update as Record<string, unknown>;
}

const SWITCHES = {
  log_info: { type: 'boolean' },
  log_warning: { type: 'boolean' },
  log_error: { type: 'boolean' },
  log_verbose_level: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: '1: debug, 2 and up: trace.' },
};
const SETTINGS_SCHEMA = { type: 'object', properties: { ...SWITCHES, log_file: { const: '' }, log_format: { const: 'default' } } };
const answer = {
  200: {
    description: 'The settings now in force.',
    content: json({ ...SETTINGS_SCHEMA, required: Object.keys(SETTINGS_SCHEMA.properties) }),
  },
};

/** Triton's logging extension over the gateway's logger: admins read and change its level at run time. */
export function logSettingsRoutes(app: FastifyInstance, logger: Logger): void {
  app.get(
    '/v2/logging',
    { onRequest: adminOnly, config: docs({ tag: 'triton', summary: 'Log settings (admin)', errors: ['forbidden'], responses: answer }) },
    async () => logSettingsOf(logger),
  );
  const changeDocs = docs({
    tag: 'triton',
    summary: 'Change the log level (admin)',
    description: 'log_file and log_format cannot change (JSON lines to stdout): another value is 501 not_supported.',
    errors: ['forbidden', 'invalid_json', 'invalid_request', 'invalid_parameter', 'not_supported'],
    responses: answer,
    handChecked: { body: json({ ...SETTINGS_SCHEMA, additionalProperties: false }) },
  });
  app.post('/v2/logging', { onRequest: adminOnly, config: changeDocs }, async (request) => {
    const settings = changeLogSettings(logger, updateOf(request.body));
    request.log.info({ logLevel: logger.level }, 'log level changed');
    return settings;
  });
}
