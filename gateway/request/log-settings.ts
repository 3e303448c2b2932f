import type { Logger } from 'pino';
import { ServingError } from '../../workers/protocol/errors.js';

/** Triton's logging extension, the same settings over HTTP and gRPC. */
export interface LogSettings {
  log_file: string;
  log_info: boolean;
  log_warning: boolean;
  log_error: boolean;
  log_verbose_level: number;
  log_format: string;
}

const RANK: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** Triton's switches, read off the gateway's pino level (logs go to stdout as JSON lines). */
export function logSettingsOf(logger: Pick<Logger, 'level'>): LogSettings {
  const rank = RANK[logger.level] ?? RANK.info!;
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

function merged(current: LogSettings, update: Readonly<Record<string, unknown>>): LogSettings {
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

/** Applies an update (every setting checked before any applies) to the logger's level; the settings now in force. */
export function changeLogSettings(logger: Pick<Logger, 'level'>, update: Readonly<Record<string, unknown>>): LogSettings {
  const level = levelOf(merged(logSettingsOf(logger), update));
  // One threshold stands behind the switches: a switch asked for must hold at the level they give
  // (verbose turns info on with it; warnings off while info stays on cannot be had).
  const result = logSettingsOf({ level });
  for (const key of ['log_info', 'log_warning', 'log_error', 'log_verbose_level'] as const) {
    const asked = update[key];
    if (asked === undefined || asked === result[key] || (key === 'log_verbose_level' && (asked as number) >= 2 && result[key] === 2))
      continue;
    throw new ServingError(
      'invalid_parameter',
      `${key} ${String(asked)} cannot hold with the other settings: the gateway logs everything at or above one level ` +
        '(verbose includes info, info includes warnings, warnings include errors)',
    );
  }
  logger.level = level;
  return result;
}
