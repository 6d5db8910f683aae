/**
 * Failure paths: a dead or absent server must never leave a caller hanging, and every
 * failure must surface as an NbdError with a code the provider can act on.
 */
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NbdClient, NbdError } from "./index";
import {
  type RunningDaemon,
  createQcow2,
  freeTcpPort,
  makeTempDir,
  removeDir,
  startStorageDaemon,
} from "./testing/qemu";

const MiB = 1024 * 1024;

let dir: string;
let image: string;

beforeAll(async () => {
  dir = await makeTempDir();
  image = path.join(dir, "disk.qcow2");
  // Real data (not holes), so 1 MiB reads take a measurable time to stream.
  await createQcow2(image, { sizeBytes: 32 * MiB, bitmaps: ["cbt"], writes: ["write -P 0x3c 0 16M"] });
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

describe("server death", () => {
  let daemon: RunningDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
  });

  it("rejects every pending request with ECONNRESET within a second of SIGKILL", async () => {
    // Its own image: a SIGKILLed daemon leaves persistent bitmaps marked in-use (unusable).
    const victim = path.join(dir, "victim.qcow2");
    await createQcow2(victim, { sizeBytes: 32 * MiB, writes: ["write -P 0x3c 0 16M"] });
    daemon = await startStorageDaemon({ image: victim, exportName: "k0", writable: true });
    const c = await NbdClient.connect({ socketPath: daemon.socketPath as string, exportName: "k0", maxInFlight: 16 });

    const requests: Array<Promise<unknown>> = [];
    for (let i = 0; i < 100; i++) requests.push(c.read((i % 16) * MiB, MiB));
    for (let i = 0; i < 8; i++) requests.push(c.write(16 * MiB + i * MiB, Buffer.alloc(MiB, i)));
    expect(c.pending).toBe(108);

    const killedAt = performance.now();
    daemon.process.kill("SIGKILL");
    const outcomes = await Promise.allSettled(requests);
    const elapsed = performance.now() - killedAt;

    expect(elapsed).toBeLessThan(1000);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(NbdError);
      expect((r.reason as NbdError).code).toBe("ECONNRESET");
    }
    expect(c.isOpen).toBe(false);
    expect(c.pending).toBe(0);
    // Later calls fail fast with the same reason instead of queueing forever.
    await expect(c.read(0, 4096)).rejects.toMatchObject({ name: "NbdError", code: "ECONNRESET" });
    await c.close(); // harmless on a dead connection
  });
});

describe("connect failures", () => {
  it("fails with ECONNREFUSED when the unix socket does not exist", async () => {
    const err = await NbdClient.connect({ socketPath: path.join(dir, "missing.sock"), exportName: "x" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NbdError);
    expect((err as NbdError).code).toBe("ECONNREFUSED");
  });

  it("fails with ECONNREFUSED when nothing listens on the TCP port", async () => {
    const port = await freeTcpPort();
    await expect(NbdClient.connect({ host: "127.0.0.1", port, exportName: "x" })).rejects.toMatchObject({
      name: "NbdError",
      code: "ECONNREFUSED",
    });
  });

  it("times out when the server accepts but never speaks", async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    const socketPath = path.join(dir, "silent.sock");
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const started = performance.now();
      await expect(NbdClient.connect({ socketPath, exportName: "x", connectTimeoutMs: 200 })).rejects.toMatchObject({
        code: "TIMEOUT",
      });
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  describe("against a running daemon", () => {
    let daemon: RunningDaemon | undefined;
    beforeAll(async () => {
      // Writable: qemu refuses to export an enabled bitmap read-only.
      daemon = await startStorageDaemon({ image, exportName: "e0", writable: true, bitmaps: ["cbt"] });
    });
    afterAll(async () => {
      await daemon?.stop();
    });

    it("fails with ENOENT (and the server's message) for an unknown export name", async () => {
      const err = (await NbdClient.connect({ socketPath: daemon!.socketPath as string, exportName: "nope" }).catch(
        (e: unknown) => e,
      )) as NbdError;
      expect(err).toBeInstanceOf(NbdError);
      expect(err.code).toBe("ENOENT");
      expect(err.serverMessage).toMatch(/nope/);
    });

    it("fails with ENOTSUP when a requested dirty bitmap is not exported, unless allowed", async () => {
      const socketPath = daemon!.socketPath as string;
      const metaContexts = ["base:allocation", "qemu:dirty-bitmap:other"];
      await expect(NbdClient.connect({ socketPath, exportName: "e0", metaContexts })).rejects.toMatchObject({
        code: "ENOTSUP",
      });

      const c = await NbdClient.connect({ socketPath, exportName: "e0", metaContexts, allowMissingMetaContexts: true });
      expect([...c.metaContexts.keys()]).toEqual(["base:allocation"]);
      await c.close();
    });

    it("after close(), requests reject with CLOSED and close() can be repeated", async () => {
      const c = await NbdClient.connect({ socketPath: daemon!.socketPath as string, exportName: "e0" });
      const inFlight = c.read(0, MiB);
      const closing = c.close();
      // close() lets the outstanding read finish first.
      expect((await inFlight).every((b) => b === 0x3c)).toBe(true);
      await closing;
      await c.close();
      await expect(c.read(0, 512)).rejects.toMatchObject({ code: "CLOSED" });
    });

    it("destroy() rejects outstanding requests with CLOSED at once", async () => {
      const c = await NbdClient.connect({ socketPath: daemon!.socketPath as string, exportName: "e0" });
      const reads = Array.from({ length: 20 }, (_, i) => c.read((i % 16) * MiB, MiB));
      c.destroy();
      const outcomes = await Promise.allSettled(reads);
      expect(outcomes.every((o) => o.status === "rejected" && (o.reason as NbdError).code === "CLOSED")).toBe(true);
    });
  });
});
