import { Redis, SentinelConnector, type SentinelConnectionOptions } from 'ioredis';

type ErrorEmitter = Parameters<SentinelConnector['connect']>[0];
type NetStream = Awaited<ReturnType<SentinelConnector['connect']>>;

/** Reconnect delays for every Redis connection (redis-connection.ts uses it too): 100 ms more each try, at most 1 s. */
export const RETRY = (times: number): number => Math.min(times * 100, 1_000);
const DISCONNECT_TIMEOUT_MS = 2_000;

/**
 * ioredis's Sentinel connector, following `+switch-master` itself.
 *
 * ioredis's own failover detector closes the whole connector when a sentinel announces a new
 * master. When that lands while a reconnect is asking a sentinel where the master is (after the
 * old master died), the reconnect gives up and the connection stays closed for good (status
 * `end`, every command "Connection is closed."): 28 of 200 connections after one SIGKILLed
 * master on a busy machine. Here a switch ends only the socket, so the connection reconnects
 * and asks the sentinels again, as it does when Redis closes the socket.
 *
 * The announcement matters when the old master stops answering without closing its sockets
 * (a partition, a paused process): without it a connection would wait on the dead socket.
 * Each open socket listens on every configured sentinel while it is open; duplicates made by
 * BullMQ carry the connector too (it travels in the options).
 */
export class SwitchFollowingSentinelConnector extends SentinelConnector {
  #listeners: Redis[] = [];

  /** ioredis builds a `Connector` from the connection's own options, typed loosely. */
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override async connect(eventEmitter: ErrorEmitter): Promise<NetStream> {
    this.#stopListening();
    const stream = await super.connect(eventEmitter);
    const tls = this.options.enableTLSForSentinelMode === true && this.options.tls !== undefined;
    if (stream.connecting) stream.once(tls ? 'secureConnect' : 'connect', () => this.#listen(stream));
    else if (!stream.destroyed) this.#listen(stream);
    return stream;
  }

  override disconnect(): void {
    this.#stopListening();
    super.disconnect();
  }

  #listen(stream: NetStream): void {
    this.#stopListening();
    if (stream.destroyed) return;
    stream.once('close', () => this.#stopListening());
    const { name } = this.options;
    for (const sentinel of this.options.sentinels ?? []) {
      const listener = new Redis({
        host: sentinel.host ?? '127.0.0.1',
        port: sentinel.port ?? 26379,
        ...(this.options.sentinelUsername !== undefined ? { username: this.options.sentinelUsername } : {}),
        ...(this.options.sentinelPassword !== undefined ? { password: this.options.sentinelPassword } : {}),
        ...(this.options.sentinelTLS !== undefined ? { tls: this.options.sentinelTLS } : {}),
        connectionName: 'switchyard-switch-listener',
        enableReadyCheck: false,
        maxRetriesPerRequest: null,
        retryStrategy: RETRY,
      });
      listener.on('error', () => undefined);
      listener.on('message', (_channel: string, message: string) => {
        const [master, , , host, port] = message.split(' ');
        if (master !== name || sameAddress(stream, host, Number(port))) return;
        this.#stopListening();
        endStream(stream);
      });
      listener.subscribe('+switch-master').catch(() => undefined);
      this.#listeners.push(listener);
    }
  }

  #stopListening(): void {
    for (const listener of this.#listeners) listener.disconnect();
    this.#listeners = [];
  }
}

/** Whether the socket already reaches the announced master (a reconnect that beat the announcement). */
function sameAddress(stream: NetStream, host: string | undefined, port: number): boolean {
  return stream.remotePort === port && stream.remoteAddress?.replace(/^::ffff:/, '') === host;
}

/** Ends the socket (replies already sent still arrive), destroying it if the far end does not close in time. */
function endStream(stream: NetStream): void {
  if (stream.destroyed) return;
  const timer = setTimeout(() => stream.destroy(), DISCONNECT_TIMEOUT_MS);
  stream.once('close', () => clearTimeout(timer));
  stream.end();
}
