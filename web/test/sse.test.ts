import { describe, expect, test } from "vitest";
import { EventStreamParser, readEventStream, type ServerEvent } from "../src/api/sse";
import { addStep, parseStatusEvent } from "../src/features/run/useRunEvents";

const STREAM =
  ": heartbeat\r\n\r\n" +
  "event: status\r\ndata: {\"status\": \"running\", \"progress\": 10, \"current_step\": \"validating requirements\", \"error\": null}\r\n\r\n" +
  "event: delta\ndata: {\"text\": \"Prix — 12 € à Zürich 🚀\"}\n\n" +
  "data: line one\ndata:line two\nid: 7\n\n" +
  "event: status\rdata: {\"status\": \"completed\", \"progress\": 100, \"current_step\": null, \"error\": null}\r\r" +
  "event: ignored-without-blank-line\ndata: x";

const EXPECTED: ServerEvent[] = [
  { event: "status", data: '{"status": "running", "progress": 10, "current_step": "validating requirements", "error": null}', id: null },
  { event: "delta", data: '{"text": "Prix — 12 € à Zürich 🚀"}', id: null },
  { event: "message", data: "line one\nline two", id: "7" },
  { event: "status", data: '{"status": "completed", "progress": 100, "current_step": null, "error": null}', id: "7" },
];

function parseInChunks(text: string, size: number): ServerEvent[] {
  const parser = new EventStreamParser();
  const out: ServerEvent[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
  out.push(...parser.end());
  return out;
}

function byteStream(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

describe("server-sent events parser", () => {
  test("the same events whatever the chunk size, CRLF, CR and LF line ends alike", () => {
    for (let size = 1; size <= STREAM.length; size += 1) {
      expect(parseInChunks(STREAM, size), `chunks of ${size}`).toEqual(EXPECTED);
    }
  });

  test("a CRLF split between two chunks ends one line, not two", () => {
    const parser = new EventStreamParser();
    expect(parser.push("data: a\r")).toEqual([]);
    // were the CR taken for a line end and the LF for a blank line, "a" would be dispatched here
    expect(parser.push("\ndata: b\r\n")).toEqual([]);
    expect(parser.push("\r\n")).toEqual([{ event: "message", data: "a\nb", id: null }]);
  });

  test("bytes cut inside a multi-byte character are decoded whole", async () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (const size of [1, 2, 3, 5, 7]) {
      const events: ServerEvent[] = [];
      for await (const event of readEventStream(byteStream(bytes, size))) events.push(event);
      expect(events, `chunks of ${size} bytes`).toEqual(EXPECTED);
    }
  });

  test("status events become the run's steps, each once, in order", () => {
    const events = [
      '{"status": "queued", "progress": 0, "current_step": null, "error": null}',
      '{"status": "running", "progress": 10, "current_step": "validating requirements", "error": null}',
      '{"status": "running", "progress": 30, "current_step": "agent research", "error": null}',
      '{"status": "running", "progress": 30, "current_step": "agent research", "error": null}',
      '{"status": "running", "progress": 55, "current_step": "agents cloud_engineer, compliance", "error": null}',
      "not json",
    ].map(parseStatusEvent);
    expect(events[5]).toBeNull();
    const steps = events.reduce((list, e) => (e ? addStep(list, e) : list), [] as ReturnType<typeof addStep>);
    expect(steps.map((s) => s.label)).toEqual(["validating requirements", "agent research", "agents cloud_engineer, compliance"]);
  });
});
