// Test helpers for the qemu provider's data plane: small qcow2 chains made with qemu-img/qemu-io, digests,
// and long-running processes that hold an image open the way a running VM does.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runTool } from "../exec";

/** Runs a QEMU tool and returns its stdout; a failure is a ProviderError with the tool's own message. */
export async function run(command: string, args: readonly string[]): Promise<string> {
  return (await runTool(command, [...args])).stdout;
}

export function makeTempDir(prefix: string): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
}

export const MiB = 1024 * 1024;
export const KiB = 1024;

/** A qcow2 file, optionally over `backing`, with qemu-io commands applied (e.g. "write -P 0xab 1M 64k"). */
export async function createQcow2(
  file: string,
  options: { sizeBytes: number; backing?: string; writes?: readonly string[] },
): Promise<string> {
  const backing = options.backing ? ["-b", options.backing, "-F", "qcow2"] : [];
  await run("qemu-img", ["create", "-q", "-f", "qcow2", ...backing, file, String(options.sizeBytes)]);
  if (options.writes && options.writes.length > 0) await qemuIo(file, options.writes);
  return file;
}

export async function qemuIo(file: string, commands: readonly string[]): Promise<void> {
  await run("qemu-io", ["-f", "qcow2", ...commands.flatMap((c) => ["-c", c]), file]);
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function sha256File(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** The disk as qemu-img sees it through the file's recorded backing chain, as raw bytes. */
export async function rawImage(file: string): Promise<Buffer> {
  const raw = `${file}.raw`;
  await run("qemu-img", ["convert", "-U", "-f", "qcow2", "-O", "raw", file, raw]);
  try {
    return fs.readFileSync(raw);
  } finally {
    fs.rmSync(raw, { force: true });
  }
}

/** Live (non-zombie) qemu-storage-daemon processes started with this pid file. */
export function daemonPidsFor(pidFile: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        return path.basename(argv[0] ?? "") === "qemu-storage-daemon" && argv.includes(pidFile) && state !== "Z";
      } catch {
        return false;
      }
    });
}

/**
 * A test file's teardown: kills every storage daemon still running with a pid file in `runDir` (left by a test
 * that failed half-way), then removes `dir` with everything in it.
 */
export async function removeTestDir(dir: string, runDir: string): Promise<void> {
  for (const file of fs.existsSync(runDir) ? fs.readdirSync(runDir) : []) {
    if (file.endsWith(".pid")) for (const pid of daemonPidsFor(path.join(runDir, file))) process.kill(pid, "SIGKILL");
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
}

/**
 * An interactive `qemu-io` holding an image open read-write (with its backing chain read-only), as a running VM
 * would; `command` sends one qemu-io command and waits for its completion line.
 */
export interface ImageHolder {
  readonly pid: number;
  command(line: string): Promise<string>;
  /** Quits cleanly (bitmaps saved). */
  quit(): Promise<void>;
  /** kill -9: leaves the image as a crashed VM would (bitmaps stay "in-use"). */
  kill(): Promise<void>;
}

export async function holdImageOpen(file: string): Promise<ImageHolder> {
  const child: ChildProcess = spawn("qemu-io", ["-f", "qcow2", file], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;

  const command = async (line: string): Promise<string> => {
    const start = output.length;
    child.stdin?.write(`${line}\n`);
    const deadline = Date.now() + 10_000;
    // Every qemu-io I/O command ends with a statistics line ("… ops; …") or an error.
    while (!/ops;|error|failed|Could not|can't/i.test(output.slice(start))) {
      if (!alive()) throw new Error(`qemu-io exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`qemu-io did not answer ${line}: ${output.slice(start)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return output.slice(start);
  };

  const holder: ImageHolder = {
    pid: child.pid ?? -1,
    command,
    quit: async () => {
      if (!alive()) return;
      child.stdin?.end("quit\n");
      await exited;
    },
    kill: async () => {
      if (!alive()) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
  // Opened (and locked) once the first command is answered.
  const answer = await command("read 0 512");
  if (!/read 512\/512/.test(answer)) {
    await holder.kill();
    throw new Error(`qemu-io could not open ${file}: ${answer}`);
  }
  return holder;
}
