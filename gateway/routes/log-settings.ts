import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { assertAdmin } from '../auth/authorize.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { docs, json } from '../openapi/route-docs.js';

interface LogSettings {
  log_file: string;
  log_info: boolean;
  log_warning: boolean;
  log_error: boolean;
  log_verbose_level: number;
  log_format: string;
}

const RANK: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** Triton's switches, read off the gateway's pino level (logs go to stdout as JSON lines). */
function settingsOf(level: string): LogSettings {
  const rank = RANK[level] ?? RANK.info!;
  return {
    log_file: '',
    log_info: rank <= RANK.info!,
    log_warning: rank <= RANK.warn!,
    log_error: rank <= RANK.error!,
    log_verbose_level: rank <= RANK.trace! ? 2 : rank <= RANK.debug! ? 1 : 0,
    log_format: 'default',
  };
}

function levelOf(settings: LogSettings): string {
  if (settings.log_verbose_level >= 2) return 'trace';
  if (settings.log_verbose_level === 1) return 'debug';
  if (settings.log_info) return 'info';
  if (settings.log_warning) return 'warn';
  return settings.log_error ? 'error' : 'silent';
}

function merged(current: LogSettings, body: unknown): LogSettings {
  let update: unknown;
  try {
    update = Buffer.isBuffer(body) && body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
  } catch {
    throw new ServingError('invalid_json', 'the log settings are not valid JSON');
  }
  if (typeof update !== 'object' || update === null || Array.isArray(update))
    throw new ServingError('invalid_request', 'log settings must be a JSON object');
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (key === 'log_info' || key === 'log_warning' || key === 'log_error') {
      if (typeof value !== 'boolean') throw new ServingError('invalid_parameter', `${key} must be true or false`);
      next[key] = value;
    } else if (key === 'log_verbose_level') {
      if (!Number.isSafeInteger(value) || (value as number) < 0)
        throw new ServingError('invalid_parameter', 'log_verbose_level must be an integer >= 0');
      next.log_verbose_level = value as number;
    } else if ((key === 'log_file' && value === '') || (key === 'log_format' && value === 'default')) {
    } else if (key === 'log_file' || key === 'log_format') {
      throw new ServingError('not_supported', `${key} cannot be changed: the gateway logs JSON lines to stdout`);
    } else {
      throw new ServingError('invalid_parameter', `unknown log setting "${key.slice(0, 60)}"`);
    }
  }
  return next;
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
    { config: docs({ tag: 'triton', summary: 'Log settings (admin)', errors: ['forbidden'], responses: answer }) },
    async (request) => {
      assertAdmin(request.tenant);
      return settingsOf(logger.level);
    },
  );
  const changeDocs = docs({
    tag: 'triton',
    summary: 'Change the log level (admin)',
    description: 'log_file and log_format cannot change (JSON lines to stdout): another value is 501 not_supported.',
    errors: ['forbidden', 'invalid_json', 'invalid_request', 'invalid_parameter', 'not_supported'],
    responses: answer,
    handChecked: { body: json({ ...SETTINGS_SCHEMA, additionalProperties: false }) },
  });
  app.post('/v2/logging', { config: changeDocs }, async (request) => {
    assertAdmin(request.tenant);
    const next = merged(settingsOf(logger.level), request.body);
    logger.level = levelOf(next);
    request.log.info({ logLevel: logger.level }, 'log level changed');
    return settingsOf(logger.level);
  });
}
