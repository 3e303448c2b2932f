import { parseConfig } from '../../gateway/config.js';
import { startServer, type RunningServer } from '../../gateway/server.js';

/** An embedded-mode gateway on a free loopback port, as `npm start` runs it. */
export async function startTestGateway(repository: string, env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer(parseConfig({ MODEL_REPOSITORY: repository, PORT: '0', GRPC_PORT: '0', LOG_LEVEL: 'silent', CPU_COUNT: '2', ...env }));
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
