/** One server-sent event (the WHATWG event-stream format); `id` is the last id seen, as EventSource keeps it. */
export interface ServerSentEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/** Parses a text/event-stream body into events; comments (keep-alives) are skipped. */
export async function* readServerSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let lastId: string | undefined;
  let event = '';
  let data: string[] = [];
  const dispatch = (): ServerSentEvent | undefined => {
    const ready =
      data.length > 0 ? { ...(lastId !== undefined ? { id: lastId } : {}), event: event || 'message', data: data.join('\n') } : undefined;
    event = '';
    data = [];
    return ready;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        const ready = dispatch();
        if (ready) yield ready;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\u0000')) lastId = value;
    }
  }
}
