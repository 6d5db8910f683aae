/**
 * The reply parser against byte streams cut at awkward places: replies trickling in a few bytes at a
 * time, several replies in one socket read, large payloads read straight into the caller's buffer
 * (structured and simple), and readInto() touching nothing outside the range it was given.
 */
import { randomBytes } from "node:crypto";
import type net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NbdClient } from "./index";
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
} from "./protocol";
import {
  type FakeRequest,
  type FakeServer,
  type FakeServerOptions,
  blockStatusPayload,
  chunk,
  dataPayload,
  holePayload,
  simpleReply,
  startFakeServer,
} from "./testing/fake-nbd-server";

const SIZE = 64 * 1024 * 1024;
/** The fake export's content: random, so a byte in the wrong place cannot go unnoticed. */
const DISK = randomBytes(4 * 1024 * 1024);
let server: FakeServer | undefined;

async function serveAndConnect(
  options: Omit<FakeServerOptions, "size">,
  metaContexts?: string[],
  requestTimeoutMs?: number,
) {
  server = await startFakeServer({ size: SIZE, ...options });
  return NbdClient.connect({
    socketPath: server.socketPath,
    exportName: "fake",
    ...(metaContexts ? { metaContexts } : {}),
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A structured READ reply: data for the first part, a hole for the last 8 KiB, then a bare DONE. */
function readReply(req: FakeRequest): Buffer {
  const holeLength = Math.min(8192, req.length / 2);
  const dataLength = req.length - holeLength;
  return Buffer.concat([
    chunk(
      req.handle,
      0,
      NBD_REPLY_TYPE_OFFSET_DATA,
      dataPayload(req.offset, DISK.subarray(req.offset, req.offset + dataLength)),
    ),
    chunk(req.handle, 0, NBD_REPLY_TYPE_OFFSET_HOLE, holePayload(req.offset + dataLength, holeLength)),
    chunk(req.handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE),
  ]);
}

function expectedRead(offset: number, length: number): Buffer {
  const holeLength = Math.min(8192, length / 2);
  return Buffer.concat([DISK.subarray(offset, offset + length - holeLength), Buffer.alloc(holeLength)]);
}

/** Writes `bytes` in pieces of 1, 2, 3, 5, 8, … bytes (cycling), yielding to the event loop in between. */
async function trickle(socket: net.Socket, bytes: Buffer): Promise<void> {
  const sizes = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    socket.write(bytes.subarray(at, at + n));
    at += n;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("NbdClient reply parsing", () => {
  it("reassembles replies that arrive a few bytes at a time, headers split anywhere", async () => {
    const c = await serveAndConnect(
      {
        contexts: { "base:allocation": 3 },
        onRequest: (req, s) => {
          if (req.type === NBD_CMD_READ) void trickle(s, readReply(req));
          if (req.type === NBD_CMD_BLOCK_STATUS) {
            const payload = blockStatusPayload(3, [
              [65536, 0],
              [req.length - 65536, 3],
            ]);
            void trickle(s, chunk(req.handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, payload));
          }
        },
      },
      ["base:allocation"],
    );
    const first = await c.read(4096, 96 * 1024);
    expect(first.equals(expectedRead(4096, 96 * 1024))).toBe(true);
    const second = await c.read(1024 * 1024, 40 * 1024);
    expect(second.equals(expectedRead(1024 * 1024, 40 * 1024))).toBe(true);
    expect(await c.blockStatus(0, 1024 * 1024)).toEqual([
      { offset: 0, length: 65536, flags: 0 },
      { offset: 65536, length: 1024 * 1024 - 65536, flags: 3 },
    ]);
    c.destroy();
  });

  it("parses several replies delivered in one write, a large data chunk between small ones", async () => {
    const pending: FakeRequest[] = [];
    const c = await serveAndConnect({
      onRequest: (req, s) => {
        pending.push(req);
        if (pending.length < 3) return;
        // All three answers at once, in reverse order: write ack, then the two reads.
        const [a, b, w] = pending as [FakeRequest, FakeRequest, FakeRequest];
        s.write(Buffer.concat([simpleReply(w.handle, 0), readReply(b), readReply(a)]));
      },
    });
    const [a, b] = await Promise.all([
      c.read(0, 1024 * 1024),
      c.read(2 * 1024 * 1024, 4096),
      c.write(8192, Buffer.alloc(512)),
    ]);
    expect(a.equals(expectedRead(0, 1024 * 1024))).toBe(true);
    expect(b.equals(expectedRead(2 * 1024 * 1024, 4096))).toBe(true);
    expect(pending.map((r) => r.type)).toEqual([NBD_CMD_READ, NBD_CMD_READ, NBD_CMD_WRITE]);
    c.destroy();
  });

  it("accepts a large READ answered with a simple reply", async () => {
    const c = await serveAndConnect({
      onRequest: (req, s) => s.write(simpleReply(req.handle, 0, DISK.subarray(req.offset, req.offset + req.length))),
    });
    const [x, y] = await Promise.all([c.read(65536, 1024 * 1024), c.read(3 * 1024 * 1024, 512 * 1024)]);
    expect(x.equals(DISK.subarray(65536, 65536 + 1024 * 1024))).toBe(true);
    expect(y.equals(DISK.subarray(3 * 1024 * 1024, 3 * 1024 * 1024 + 512 * 1024))).toBe(true);
    c.destroy();
  });

  it("readInto fills exactly the given range of the caller's buffer, Buffer or Uint8Array, split or not", async () => {
    const c = await serveAndConnect({ onRequest: (req, s) => s.write(readReply(req)) });
    const buffer = Buffer.alloc(3 * 1024 * 1024, 0xee);
    // 2 MiB + 4 KiB: more than the fake server's 1 MiB maximum, so it is split into three requests.
    const length = 2 * 1024 * 1024 + 4096;
    await c.readInto(8192, buffer.subarray(4096, 4096 + length));
    expect(buffer.subarray(0, 4096).every((b) => b === 0xee)).toBe(true);
    expect(buffer.subarray(4096 + length).every((b) => b === 0xee)).toBe(true);
    const expected = Buffer.concat([
      expectedRead(8192, 1024 * 1024),
      expectedRead(8192 + 1024 * 1024, 1024 * 1024),
      expectedRead(8192 + 2 * 1024 * 1024, 4096),
    ]);
    expect(buffer.subarray(4096, 4096 + length).equals(expected)).toBe(true);

    const plain = new Uint8Array(70 * 1024);
    await c.readInto(65536, plain.subarray(1024, 1024 + 65536));
    expect(Buffer.from(plain.buffer, 1024, 65536).equals(expectedRead(65536, 65536))).toBe(true);
    expect(plain.subarray(0, 1024).every((b) => b === 0)).toBe(true);
    c.destroy();
  });

  it("drops a late reply to a timed-out readInto without touching the caller's buffer again", async () => {
    let first = true;
    const c = await serveAndConnect(
      {
        onRequest: (req, s) => {
          const reply = readReply(req);
          if (first) setTimeout(() => s.write(reply), 250);
          else s.write(reply);
          first = false;
        },
      },
      undefined,
      100,
    );
    const buffer = Buffer.alloc(256 * 1024, 0xee);
    await expect(c.readInto(0, buffer)).rejects.toMatchObject({ code: "TIMEOUT" });
    buffer.fill(0x11); // the caller reuses its buffer
    await sleep(300); // the late reply arrives meanwhile
    expect(buffer.every((b) => b === 0x11)).toBe(true);
    expect(c.isOpen).toBe(true);
    expect((await c.read(65536, 65536)).equals(expectedRead(65536, 65536))).toBe(true);
    c.destroy();
  });

  it("drops the connection when a request times out while its data is arriving", async () => {
    const c = await serveAndConnect(
      {
        onRequest: (req, s) => {
          const reply = readReply(req);
          s.write(reply.subarray(0, 100 * 1024)); // header and part of the data, then a stall
          setTimeout(() => s.write(reply.subarray(100 * 1024)), 250);
        },
      },
      undefined,
      100,
    );
    const buffer = Buffer.alloc(256 * 1024, 0xee);
    await expect(c.readInto(0, buffer)).rejects.toMatchObject({ code: "TIMEOUT" });
    buffer.fill(0x11);
    await sleep(300);
    expect(buffer.every((b) => b === 0x11)).toBe(true);
    expect(c.isOpen).toBe(false);
    await expect(c.read(0, 4096)).rejects.toMatchObject({ code: "ECONNRESET" });
  });
});
