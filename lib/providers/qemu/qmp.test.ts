// QmpClient at the protocol level, against a fake QMP server on a unix socket (no QEMU): what a new connection
// may see before the greeting.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ProviderError } from "../errors";
import { QmpClient } from "./qmp";

const greeting = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] } };
const event = (name: string, data: Record<string, unknown>) => ({
  event: name,
  data,
  timestamp: { seconds: 1, microseconds: 0 },
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A fake monitor: sends `opening` on each new connection, then answers every command with an empty return. */
async function fakeQmpServer(
  opening: (send: (msg: unknown) => void) => void,
): Promise<{ socket: string; commands: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fbqmp-"));
  const socket = path.join(dir, "qmp.sock");
  const commands: string[] = [];
  const server = net.createServer((conn) => {
    const send = (msg: unknown) => conn.write(`${JSON.stringify(msg)}\n`);
    let buffer = "";
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const { execute, id } = JSON.parse(buffer.slice(0, nl)) as { execute: string; id: string };
        buffer = buffer.slice(nl + 1);
        commands.push(execute);
        send({ return: {}, id });
      }
    });
    conn.on("error", () => {});
    opening(send);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  cleanups.push(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socket, commands };
}

describe("QmpClient.connect", () => {
  it("skips events that arrive before the greeting (they belong to no session of ours)", async () => {
    const { socket, commands } = await fakeQmpServer((send) => {
      send(event("JOB_STATUS_CHANGE", { id: "fb-commit-vda-x", status: "concluded" }));
      send(event("JOB_STATUS_CHANGE", { id: "fb-commit-vda-x", status: "null" }));
      send(greeting);
    });
    const qmp = await QmpClient.connect(socket, { timeoutMs: 2_000 });
    try {
      expect(commands).toEqual(["qmp_capabilities"]);
      expect(qmp.mark()).toBe(0); // not kept: a waiter never sees another session's event
      await expect(qmp.waitForEvent("JOB_STATUS_CHANGE", () => true, 50, { since: 0 })).rejects.toThrow(
        "no QMP event JOB_STATUS_CHANGE within 50 ms",
      );
      expect(await qmp.execute("query-status")).toEqual({});
    } finally {
      qmp.close();
    }
  });

  it("still rejects a first message that is neither an event nor a greeting", async () => {
    const { socket } = await fakeQmpServer((send) => send({ hello: "not QMP" }));
    const err = await QmpClient.connect(socket, { timeoutMs: 2_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(/unexpected QMP greeting/);
  });

  it("a monitor that only sends events and never greets is a transient busy after the timeout", async () => {
    const { socket } = await fakeQmpServer((send) => send(event("RESUME", {})));
    const err = await QmpClient.connect(socket, { timeoutMs: 300 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: "busy", transient: true });
  });
});
