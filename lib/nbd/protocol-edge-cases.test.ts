/**
 * Behaviour a well-behaved qemu never shows on demand, against a scripted fake server:
 * error chunks, fragmented and out-of-order read replies, short block status answers,
 * simple replies, protocol violations and silence.
 */
import { afterEach, describe, expect, it } from "vitest";
import { NbdClient, NbdError } from "./index";
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_FLAG_HAS_FLAGS,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  NBD_REP_ERR_UNKNOWN,
} from "./protocol";
import {
  type FakeServer,
  type FakeServerOptions,
  blockStatusPayload,
  chunk,
  dataPayload,
  errorPayload,
  holePayload,
  simpleReply,
  startFakeServer,
} from "./testing/fake-nbd-server";

const SIZE = 16 * 1024 * 1024;
let server: FakeServer | undefined;

async function serveAndConnect(
  options: Omit<FakeServerOptions, "size"> & { size?: number },
  connect: { metaContexts?: string[]; requestTimeoutMs?: number } = {},
) {
  server = await startFakeServer({ size: SIZE, ...options });
  return NbdClient.connect({ socketPath: server.socketPath, exportName: "fake", ...connect });
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("NbdClient protocol edge cases", () => {
  it("reassembles a read from out-of-order data and hole chunks", async () => {
    const c = await serveAndConnect({
      onRequest: (req, s) => {
        if (req.type !== NBD_CMD_READ) return;
        const half = req.length / 2;
        // Second half first, as a hole; then the first half as data; then a bare DONE.
        s.write(chunk(req.handle, 0, NBD_REPLY_TYPE_OFFSET_HOLE, holePayload(req.offset + half, half)));
        s.write(chunk(req.handle, 0, NBD_REPLY_TYPE_OFFSET_DATA, dataPayload(req.offset, Buffer.alloc(half, 0xee))));
        s.write(chunk(req.handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE));
      },
    });
    const buf = await c.read(4096, 8192);
    expect(buf.subarray(0, 4096).every((b) => b === 0xee)).toBe(true);
    expect(buf.subarray(4096).every((b) => b === 0)).toBe(true);
    c.destroy();
  });

  it("turns an error chunk into an NbdError with the server's message, and keeps the connection usable", async () => {
    const c = await serveAndConnect({
      onRequest: (req, s) => {
        if (req.type === NBD_CMD_READ && req.offset === 0) {
          s.write(chunk(req.handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, errorPayload(5, "disk on fire")));
        } else if (req.type === NBD_CMD_READ) {
          s.write(
            chunk(
              req.handle,
              NBD_REPLY_FLAG_DONE,
              NBD_REPLY_TYPE_OFFSET_DATA,
              dataPayload(req.offset, Buffer.alloc(req.length, 1)),
            ),
          );
        } else if (req.type === NBD_CMD_WRITE) {
          s.write(simpleReply(req.handle, 28)); // ENOSPC as a simple reply
        }
      },
    });
    const err = (await c.read(0, 512).catch((e: unknown) => e)) as NbdError;
    expect(err).toBeInstanceOf(NbdError);
    expect(err.code).toBe("EIO");
    expect(err.serverMessage).toBe("disk on fire");
    await expect(c.write(0, Buffer.alloc(512))).rejects.toMatchObject({ code: "ENOSPC" });
    expect((await c.read(512, 512)).every((b) => b === 1)).toBe(true);
    c.destroy();
  });

  it("fails a read whose reply does not cover the whole range", async () => {
    const c = await serveAndConnect({
      onRequest: (req, s) => {
        s.write(
          chunk(
            req.handle,
            NBD_REPLY_FLAG_DONE,
            NBD_REPLY_TYPE_OFFSET_DATA,
            dataPayload(req.offset, Buffer.alloc(req.length - 1)),
          ),
        );
      },
    });
    await expect(c.read(0, 4096)).rejects.toMatchObject({ code: "PROTOCOL" });
    c.destroy();
  });

  it("keeps asking for block status until a server that answers short has covered the range", async () => {
    const asked: Array<[number, number]> = [];
    const c = await serveAndConnect(
      {
        contexts: { "base:allocation": 7 },
        onRequest: (req, s) => {
          if (req.type !== NBD_CMD_BLOCK_STATUS) return;
          asked.push([req.offset, req.length]);
          // At most two 64 KiB extents per answer, alternating data/hole by position.
          const first = (req.offset / 65536) % 2 === 0 ? 0 : 3;
          const extents: Array<[number, number]> = [[Math.min(65536, req.length), first]];
          if (req.length > 65536) extents.push([Math.min(65536, req.length - 65536), first ^ 3]);
          s.write(chunk(req.handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, blockStatusPayload(7, extents)));
        },
      },
      { metaContexts: ["base:allocation"] },
    );
    const extents = await c.blockStatus(0, 1024 * 1024);
    expect(asked.length).toBe(8);
    expect(extents).toHaveLength(16);
    expect(extents[1]).toEqual({ offset: 65536, length: 65536, flags: 3 });
    expect(extents.reduce((n, e) => n + e.length, 0)).toBe(1024 * 1024);
    c.destroy();
  });

  it("fails everything pending when the server answers an unknown handle", async () => {
    let seen = 0;
    const c = await serveAndConnect({
      onRequest: (req, s) => {
        if (++seen === 3) s.write(simpleReply(req.handle + 1000n, 0));
      },
    });
    const outcomes = await Promise.allSettled([c.read(0, 512), c.read(512, 512), c.read(1024, 512)]);
    expect(outcomes.map((o) => o.status === "rejected" && (o.reason as NbdError).code)).toEqual([
      "PROTOCOL",
      "PROTOCOL",
      "PROTOCOL",
    ]);
    expect(c.isOpen).toBe(false);
  });

  it("times out a request the server never answers, and drops the late reply", async () => {
    let first = true;
    const c = await serveAndConnect(
      {
        onRequest: (req, s) => {
          const reply = chunk(
            req.handle,
            NBD_REPLY_FLAG_DONE,
            NBD_REPLY_TYPE_OFFSET_DATA,
            dataPayload(req.offset, Buffer.alloc(req.length, 9)),
          );
          if (first) setTimeout(() => s.write(reply), 300);
          else s.write(reply);
          first = false;
        },
      },
      { requestTimeoutMs: 100 },
    );
    await expect(c.read(0, 512)).rejects.toMatchObject({ code: "TIMEOUT" });
    await new Promise((r) => setTimeout(r, 300));
    expect((await c.read(512, 512)).every((b) => b === 9)).toBe(true);
    expect(c.isOpen).toBe(true);
    c.destroy();
  });

  it("reports a refused NBD_OPT_GO with the matching code and message", async () => {
    await expect(
      serveAndConnect({ refuseGo: { replyType: NBD_REP_ERR_UNKNOWN, message: "no such export here" } }),
    ).rejects.toMatchObject({
      code: "ENOENT",
      serverMessage: "no such export here",
    });
  });

  it("uses the transmission flags it was given: no WRITE_ZEROES unless advertised", async () => {
    const c = await serveAndConnect({ transmissionFlags: NBD_FLAG_HAS_FLAGS });
    expect(c.canWriteZeroes).toBe(false);
    await expect(c.writeZeroes(0, 4096)).rejects.toMatchObject({ code: "ENOTSUP" });
    await c.flush(); // no flush support advertised: nothing to do, resolves
    c.destroy();
  });
});
