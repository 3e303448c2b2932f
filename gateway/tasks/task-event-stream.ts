import type { FastifyReply } from 'fastify';
import type { TaskStore } from './task-store.js';

/** How long one wait for new events lasts before a keep-alive comment goes out. */
const WAIT_MS = 15_000;
const FINAL_EVENTS = new Set(['task-succeeded', 'task-failed', 'task-cancelled']);

/**
 * Streams a task's events as server-sent events (`id:` is the event's sequence number,
 * so EventSource resumes with Last-Event-ID), and ends after the task's final event.
 */
export async function followTaskEvents(
  reply: FastifyReply,
  store: TaskStore,
  id: string,
  afterSeq: number,
  alreadyFinished: boolean,
): Promise<void> {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let open = true;
  response.on('close', () => {
    open = false;
  });
  let seq = afterSeq;
  let ended = false;
  try {
    while (open && !ended) {
      const events = await store.events(id, seq, alreadyFinished ? 0 : WAIT_MS);
      if (events.length === 0) {
        // A finished task has nothing more to say; an open one gets a keep-alive comment.
        if (alreadyFinished) break;
        response.write(': waiting\n\n');
        continue;
      }
      for (const event of events) {
        seq = event.seq;
        response.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ at: event.at, ...event.data })}\n\n`);
        if (FINAL_EVENTS.has(event.type) && !alreadyFinished) ended = true;
      }
    }
  } catch (error) {
    response.write(`event: error\ndata: ${JSON.stringify({ error: (error as Error).message })}\n\n`);
  }
  response.end();
}
