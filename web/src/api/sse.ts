/**
 * Server-sent events read with fetch(): EventSource cannot send an Authorization header.
 * The parser follows the HTML standard's event-stream rules (any line ending, `data` lines
 * joined by newlines, comments ignored, a blank line dispatches) and copes with chunks cut
 * anywhere, even inside a line, a CRLF or a multi-byte character.
 */

export interface ServerEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Feeds text chunks in, gets whole events out. */
export class EventStreamParser {
  private buffer = "";
  private data: string[] = [];
  private eventName = "";
  private lastId: string | null = null;
  private sawData = false;

  /** Parses one chunk; returns the events it completed. */
  push(chunk: string): ServerEvent[] {
    this.buffer += chunk;
    const out: ServerEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // a CR at the very end may be the first half of a CRLF split across chunks
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) out.push(event);
    }
    return out;
  }

  /** The stream ended: an event without its blank line is dropped (as the standard says). */
  end(): ServerEvent[] {
    const rest = this.buffer.replace(/\r$/, "");
    this.buffer = "";
    if (rest) this.line(rest);
    return [];
  }

  private line(line: string): ServerEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.sawData = true;
    } else if (field === "event") {
      this.eventName = value;
    } else if (field === "id" && !value.includes("\0")) {
      this.lastId = value;
    }
    return null;
  }

  private dispatch(): ServerEvent | null {
    const event = this.sawData
      ? { event: this.eventName || "message", data: this.data.join("\n"), id: this.lastId }
      : null;
    this.data = [];
    this.eventName = "";
    this.sawData = false;
    return event;
  }
}

/** Reads a text/event-stream body to its end, yielding each event as it arrives. */
export async function* readEventStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  const parser = new EventStreamParser();
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", onAbort);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}
