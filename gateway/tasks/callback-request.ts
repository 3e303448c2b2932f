import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CallbackTarget } from './callback-guard.js';

/**
 * One POST to a vetted callback target, answering the response status. The connection goes
 * to an address the guard checked: the lookup hands back those addresses whatever the name,
 * so nothing resolves the host again between the check and the connection. The Host header
 * and TLS server name stay the URL's host. No redirects are followed, no socket is pooled,
 * and the response body is not read.
 */
export function postToTarget(target: CallbackTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  // With `all` (Node's happy eyeballs) every vetted address is offered, in the resolver's order.
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (error: null, addresses: typeof target.addresses) => void)(null, target.addresses);
    else callback(null, target.address, target.family);
  };
  const { url } = target;
  const options: RequestOptions = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    lookup: pinned,
    agent: false,
    signal: AbortSignal.timeout(timeoutMs),
  };
  return new Promise<number>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (response) => {
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    request.on('error', reject);
    request.end(body);
  });
}
