import type { FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

/** `host[:port]` names a loopback address of this listener (its port, or none; any port when not on TCP, as with inject). */
function isLocalAuthority(authority: string, port: number | undefined): boolean {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(authority);
  if (!match || !LOOPBACK_HOST.test(match[1]!)) return false;
  return match[2] === undefined || port === undefined || Number(match[2]) === port;
}

/**
 * With no tenants nothing but the loopback address guards the gateway, and a browser on the
 * same machine can reach loopback too: a page elsewhere could post to it (cross-site) or
 * rebind its own name to 127.0.0.1 (DNS rebinding). Both are refused: the Host must be a
 * loopback name of this listener, and an Origin, when a browser sends one, the same.
 */
export function foreignRequest(request: FastifyRequest): ServingError | undefined {
  const port = request.raw.socket?.localPort;
  const host = request.headers.host;
  if (typeof host !== 'string' || !isLocalAuthority(host, port)) {
    return new ServingError(
      'foreign_origin',
      'with no tenants configured this gateway answers only requests addressed to its loopback address',
    );
  }
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  // Either scheme: the port names this listener (plain HTTP or TLS), and only it. An origin
  // without a port is the scheme's default one (80, 443): another server's pages, unless this is it.
  const match = /^(https?):\/\/([^/]+)$/i.exec(origin);
  const authority = match && !/:\d+$/.test(match[2]!) ? `${match[2]}:${match[1]!.toLowerCase() === 'https' ? 443 : 80}` : match?.[2];
  if (!authority || !isLocalAuthority(authority, port)) {
    return new ServingError('foreign_origin', 'with no tenants configured this gateway refuses requests from pages of other origins');
  }
  return undefined;
}
