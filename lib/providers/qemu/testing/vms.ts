// Test helpers for qemu-site VMs: throwaway sites, content checks with qemu-io / qemu-img on offline (or
// force-shared) files, and a cleanup that kills every QEMU a test started — VMs are daemonized, so they would
// otherwise outlive the test process.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { stopProcessesMentioning } from "../processes";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Site } from "../site";

const execFileAsync = promisify(execFile);

export const MiB = 1024 * 1024;
export const KiB = 1024;

export const testGuestCacheDir = () =>
  process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");

/** Throwaway sites in the temp dir (short paths: unix sockets live in them). */
export class TestSites {
  private readonly dirs: string[] = [];

  make(prefix = "fbvm-"): Site {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return new Site(dir);
  }

  /** SIGKILLs every process whose command line names one of our sites, then removes the sites. */
  async cleanup(): Promise<void> {
    for (const dir of this.dirs) await stopProcessesMentioning(dir, 0);
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function run(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { maxBuffer: 64 * MiB });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** qemu-io commands on a qcow2 file (its header's backing chain included). Not while a VM has it open. */
export const qemuIo = (file: string, ...commands: string[]) =>
  run("qemu-io", ["-f", "qcow2", ...commands.flatMap((c) => ["-c", c]), file]);

/** Whether [offset, offset+length) of the file's view reads as `pattern` (force-share: works on files in use). */
export async function hasPattern(file: string, pattern: number, offset: number, length: number): Promise<boolean> {
  try {
    const out = await run("qemu-io", [
      "-U",
      "-r",
      "-f",
      "qcow2",
      "-c",
      `read -P 0x${pattern.toString(16)} ${offset} ${length}`,
      file,
    ]);
    return !/verification failed/i.test(out);
  } catch {
    return false;
  }
}

/** sha256 of the whole disk as the file shows it (with its backing chain), via qemu-img convert -U to raw. */
export async function viewSha256(file: string): Promise<string> {
  const raw = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fbhash-")), "disk.raw");
  try {
    await run("qemu-img", ["convert", "-U", "-f", "qcow2", "-O", "raw", file, raw]);
    return createHash("sha256").update(fs.readFileSync(raw)).digest("hex");
  } finally {
    fs.rmSync(path.dirname(raw), { recursive: true, force: true });
  }
}

/** The backing file name written in a qcow2 header ("" for none). */
export async function headerBacking(file: string): Promise<string> {
  const info = JSON.parse(await run("qemu-img", ["info", "-U", "--output=json", file])) as {
    "backing-filename"?: string;
  };
  return info["backing-filename"] ?? "";
}

export const elapsed = (since: number) => Date.now() - since;
