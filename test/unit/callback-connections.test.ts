import { describe, expect, it } from 'vitest';
import { CallbackConnections } from '../../gateway/tasks/callback-connections.js';

/** An attempt that holds its connection until released. */
function held(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('CallbackConnections (outbound callback connections of one gateway)', () => {
  it('opens at most its limit, and a freed connection goes to the next tenant in turn', async () => {
    const connections = new CallbackConnections(2);
    const order: string[] = [];
    const holds = new Map<string, ReturnType<typeof held>>();
    const attempt = (tenant: string, name: string): Promise<void> =>
      connections.run(tenant, async () => {
        order.push(name);
        const hold = held();
        holds.set(name, hold);
        await hold.promise;
      });
    const runs = [
      attempt('flood', 'f1'),
      attempt('flood', 'f2'),
      // Queued behind the two open ones: flood's backlog, then one of quiet's.
      attempt('flood', 'f3'),
      attempt('flood', 'f4'),
      attempt('flood', 'f5'),
      attempt('quiet', 'q1'),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['f1', 'f2']);
    expect(connections.open).toBe(2);

    holds.get('f1')!.release();
    await new Promise((resolve) => setImmediate(resolve));
    holds.get('f2')!.release();
    await new Promise((resolve) => setImmediate(resolve));
    // quiet's attempt got the second free connection, ahead of flood's backlog.
    expect(order).toEqual(['f1', 'f2', 'f3', 'q1']);
    expect(connections.open).toBe(2);

    for (const name of ['f3', 'q1']) holds.get(name)!.release();
    await new Promise((resolve) => setImmediate(resolve));
    for (const name of ['f4', 'f5']) holds.get(name)!.release();
    await Promise.all(runs);
    expect(order).toEqual(['f1', 'f2', 'f3', 'q1', 'f4', 'f5']);
    expect(connections.open).toBe(0);
  });

  it('gives the connection back when an attempt throws', async () => {
    const connections = new CallbackConnections(1);
    await expect(connections.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(connections.open).toBe(0);
    await expect(connections.run('a', async () => 7)).resolves.toBe(7);
  });
});
