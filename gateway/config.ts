import { z } from 'zod';
import { parseEnvironment, sharedEnvironment } from '../workers/config.js';

export { ConfigError } from '../workers/config.js';

/**
 * The gateway's settings: the shared ones plus HTTP. Only this module and
 * workers/config.ts read process.env.
 */
const gatewayEnvironment = sharedEnvironment.extend({
  /** Address to listen on. Loopback by default: exposing it is a decision. */
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Largest request body, JSON or binary. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
});

export type SwitchyardConfig = Readonly<z.output<typeof gatewayEnvironment>>;

export function parseConfig(environment: Readonly<Record<string, string | undefined>>): SwitchyardConfig {
  return Object.freeze(parseEnvironment(gatewayEnvironment, environment));
}

export function configFromEnvironment(): SwitchyardConfig {
  return parseConfig(process.env);
}
