import { Command, type Redis } from 'ioredis';

export type CommandLine = readonly [name: string, ...args: (string | number)[]];

/**
 * Sends commands in one socket write on one connection, each with its own promise: Redis reads
 * them with one wake-up. A pipeline's own promise would wait for its last command, which may
 * be a blocking read; the commands before it answer at once.
 */
export function sendInOneWrite(redis: Redis, commands: readonly CommandLine[]): Promise<unknown>[] {
  const pipeline = redis.pipeline() as unknown as { sendCommand(command: Command): unknown; exec(): Promise<unknown> };
  const answers = commands.map(([name, ...args]) => {
    const command = new Command(name, args, { replyEncoding: 'utf8' });
    pipeline.sendCommand(command);
    return command.promise;
  });
  // Each command's promise carries its own outcome.
  pipeline.exec().catch(() => undefined);
  return answers;
}
