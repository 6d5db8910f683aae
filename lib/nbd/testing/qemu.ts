/**
 * Test helpers: build small qcow2 images with qemu-img/qemu-io and serve them with a real
 * qemu-storage-daemon, so the client is exercised against the server the product uses.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { runTool } from "@/lib/providers/chain-export/exec";

/** Runs a QEMU tool and returns its stdout; a failure is a ProviderError with the tool's own message. */
export async function run(command: string, args: readonly string[]): Promise<string> {
  return (await runTool(command, [...args])).stdout;
}

export async function makeTempDir(prefix = "nbd-test-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface ImageSpec {
  sizeBytes: number;
  /** Bitmaps added and enabled before `writes`, so those writes mark them dirty. */
  bitmaps?: readonly string[];
  /** qemu-io commands, e.g. "write -P 0xab 1M 64k". */
  writes?: readonly string[];
}

export async function createQcow2(file: string, spec: ImageSpec): Promise<void> {
  await run("qemu-img", ["create", "-q", "-f", "qcow2", file, String(spec.sizeBytes)]);
  for (const bitmap of spec.bitmaps ?? []) {
    // 64 KiB granularity explicitly, so tests can predict dirty extents exactly.
    await run("qemu-img", ["bitmap", "--add", "--enable", "-g", "65536", file, bitmap]);
  }
  if (spec.writes && spec.writes.length > 0) {
    await run("qemu-io", ["-f", "qcow2", ...spec.writes.flatMap((c) => ["-c", c]), file]);
  }
}

/** Whole image as raw bytes. -U because the daemon may still hold the image lock. */
export async function imageAsRaw(file: string, rawFile: string): Promise<void> {
  await run("qemu-img", ["convert", "-U", "-f", "qcow2", "-O", "raw", file, rawFile]);
}

export interface DaemonSpec {
  image: string;
  exportName: string;
  writable?: boolean;
  bitmaps?: readonly string[];
  /** Default: unix socket `<dir of image>/<exportName>.sock`. */
  listen?: { unixPath: string } | { host: string; port: number };
}

export interface RunningDaemon {
  process: ChildProcess;
  socketPath: string | undefined;
  /** nbd:// URI for nbdinfo and friends. */
  uri: string;
  stop(): Promise<void>;
}

export async function startStorageDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  const listen = spec.listen ?? { unixPath: path.join(path.dirname(spec.image), `${spec.exportName}.sock`) };
  const addr =
    "unixPath" in listen
      ? `addr.type=unix,addr.path=${listen.unixPath}`
      : `addr.type=inet,addr.host=${listen.host},addr.port=${listen.port}`;
  const bitmaps = (spec.bitmaps ?? []).map((b, i) => `,bitmaps.${i}=${b}`).join("");
  const args = [
    "--blockdev",
    `driver=file,filename=${spec.image},node-name=f0`,
    "--blockdev",
    "driver=qcow2,file=f0,node-name=d0",
    "--nbd-server",
    addr,
    "--export",
    `type=nbd,id=e0,node-name=d0,name=${spec.exportName},writable=${spec.writable ? "on" : "off"}${bitmaps}`,
  ];
  const child = spawn("qemu-storage-daemon", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    }
  };

  // Ready once it listens: the socket file exists (unix) or a TCP connect succeeds.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`qemu-storage-daemon exited early: ${stderr}`);
    if (await isListening(listen)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`qemu-storage-daemon did not start listening: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  const uri =
    "unixPath" in listen
      ? `nbd+unix:///${spec.exportName}?socket=${listen.unixPath}`
      : `nbd://${listen.host}:${listen.port}/${spec.exportName}`;
  return { process: child, socketPath: "unixPath" in listen ? listen.unixPath : undefined, uri, stop };
}

async function isListening(listen: { unixPath: string } | { host: string; port: number }): Promise<boolean> {
  if ("unixPath" in listen) {
    return stat(listen.unixPath).then(
      (s) => s.isSocket(),
      () => false,
    );
  }
  return new Promise((resolve) => {
    const s = net.createConnection({ host: listen.host, port: listen.port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export { freePort as freeTcpPort } from "@/lib/testing/free-port";

export interface MapEntry {
  offset: number;
  length: number;
  type: number;
}

/** `nbdinfo --map --json` for a meta context, as an independent view of block status. */
export async function nbdinfoMap(uri: string, context = "base:allocation"): Promise<MapEntry[]> {
  const out = await run("nbdinfo", [`--map=${context}`, "--json", uri]);
  return (JSON.parse(out) as MapEntry[]).map(({ offset, length, type }) => ({ offset, length, type }));
}
