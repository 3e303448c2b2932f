import { connect } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, status, type Client } from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompressMessage, type FrameError, frameMessage, unaryMessage } from '../../gateway/grpc/grpc-frames.js';
import { routePast } from '../../gateway/grpc/route-past.js';
import { HeaderMetadata, timeoutMs } from '../../gateway/grpc/stream-headers.js';

const PATH = '/test.Lean/Call';

describe('routePast on the installed grpc-js', () => {
  const server = new Server({ 'grpc.enable_channelz': 0 });
  let port = 0;
  let routed = false;
  beforeAll(async () => {
    new HealthImplementation({ '': 'SERVING' }).addToServer(server);
    routed = routePast(server, PATH, (stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '0', 'x-lean': 'yes' },
        { endStream: true },
      );
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });
  afterAll(() => server.forceShutdown());

  it("takes over the one path (grpc-js's entry point is the one it knows) and leaves every other method to grpc-js", async () => {
    expect(routed).toBe(true);
    const session = connect(`http://127.0.0.1:${port}`);
    const headers = await new Promise<Record<string, unknown>>((resolve) => {
      const request = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
      request.on('response', resolve);
      request.end(frameMessage(Buffer.alloc(0))[0]);
    });
    session.close();
    expect(headers['x-lean']).toBe('yes');
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(`127.0.0.1:${port}`, credentials.createInsecure()) as Client & {
      check(request: object, callback: (error: Error | null, reply: { status: string }) => void): void;
    };
    const reply = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: '' }, (error, value) => (error ? reject(error) : resolve(value))),
    );
    health.close();
    expect(reply.status).toBe('SERVING');
  });
});

describe('unary framing', () => {
  const framed = (message: Buffer, flag = 0): Buffer => {
    const [prefix, rest] = frameMessage(message);
    prefix![0] = flag;
    return rest ? Buffer.concat([prefix!, rest]) : prefix!;
  };

  it('reads one message, refuses none, two, a truncated one and one over the limit with grpc-js codes', () => {
    expect(unaryMessage(framed(Buffer.from('abc')), 10).message.toString()).toBe('abc');
    const big = Buffer.alloc(20_000, 7);
    expect(unaryMessage(framed(big), 30_000).message.equals(big)).toBe(true);
    const codeOf = (body: Buffer, max = 10): status | undefined => {
      try {
        unaryMessage(body, max);
      } catch (error) {
        return (error as FrameError).code;
      }
      return undefined;
    };
    expect(codeOf(Buffer.alloc(0))).toBe(status.UNIMPLEMENTED);
    expect(codeOf(Buffer.concat([framed(Buffer.from('a')), framed(Buffer.from('b'))]))).toBe(status.UNIMPLEMENTED);
    expect(codeOf(framed(Buffer.from('abc')).subarray(0, 6))).toBe(status.INTERNAL);
    expect(codeOf(framed(Buffer.alloc(11)))).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('decompresses gzip, refuses what decompresses past the limit and encodings grpc-js does not read', async () => {
    const body = Buffer.from('hello '.repeat(100));
    const { compressed, message } = unaryMessage(framed(gzipSync(body), 1), 1000);
    expect(compressed).toBe(true);
    expect((await decompressMessage(message, 'gzip', 1000)).equals(body)).toBe(true);
    await expect(decompressMessage(message, 'gzip', 100)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    await expect(decompressMessage(message, 'snappy', 1000)).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
    await expect(decompressMessage(Buffer.from('not gzip'), 'gzip', 1000)).rejects.toMatchObject({ code: status.INTERNAL });
  });

  it('reads grpc-timeout in every unit and request headers as metadata', () => {
    expect(timeoutMs('2S')).toBe(2000);
    expect(timeoutMs('1500m')).toBe(1500);
    expect(timeoutMs('3M')).toBe(180_000);
    expect(timeoutMs('2000u')).toBe(2);
    expect(timeoutMs(undefined)).toBeUndefined();
    expect(timeoutMs('soon')).toBeNaN();
    const metadata = new HeaderMetadata({ authorization: 'Bearer k', 'trace-bin': Buffer.from('hi').toString('base64') });
    expect(metadata.get('authorization')).toEqual(['Bearer k']);
    expect(metadata.get('trace-bin')).toEqual([Buffer.from('hi')]);
    expect(metadata.get('absent')).toEqual([]);
  });
});
