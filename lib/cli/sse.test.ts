import { describe, expect, it } from "vitest";
import { readServerSentEvents } from "./sse";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]) {
  const events = [];
  for await (const event of readServerSentEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe("readServerSentEvents", () => {
  it("reads events split anywhere across chunks, skipping comments and retry hints", async () => {
    const text =
      'retry: 2000\n\n: keep-alive\n\nid: 7\nevent: item.state\ndata: {"id":7}\n\nid: 8\nevent: session.state\ndata: {"id":8}\n\n';
    const chunks = text.match(/.{1,5}/gs) ?? [];
    expect(await collect(chunks)).toEqual([
      { id: "7", event: "item.state", data: '{"id":7}' },
      { id: "8", event: "session.state", data: '{"id":8}' },
    ]);
  });

  it("joins multi-line data, accepts CRLF line ends, and drops an unfinished last event", async () => {
    expect(await collect(["data: a\r\ndata: b\r\n\r\n", "id: 9\ndata: half"])).toEqual([
      { id: null, event: "message", data: "a\nb" },
    ]);
  });
});
