// Is a VM's QEMU running? Decided by its pidfile plus /proc (the pid must be a live, non-zombie process whose
// command line names that very pidfile), so a pidfile left by a killed QEMU or a reused pid reads as off.
// Also the clean-up of what such a QEMU left behind, and waiting for a QEMU to exit.
import fs from "node:fs";
import type { Site } from "./site";
import { sleep } from "./sleep";
import { runPaths } from "./vm-names";

/** The pid of the VM's QEMU, or null. A stale pidfile (QEMU killed, pid reused, zombie) gives null. */
export function qemuPid(site: Site, vmId: string): number | null {
  const { pidFile } = runPaths(site, vmId);
  let text: string;
  try {
    text = fs.readFileSync(pidFile, "utf8");
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return pid > 0 && isQemuWithPidfile(pid, pidFile) ? pid : null;
}

export function isRunning(site: Site, vmId: string): boolean {
  return qemuPid(site, vmId) !== null;
}

function isQemuWithPidfile(pid: number, pidFile: string): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false; // dead, waiting to be reaped
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const i = argv.indexOf("-pidfile");
    return i >= 0 && argv[i + 1] === pidFile;
  } catch {
    return false;
  }
}

/** Removes what a QEMU that is no longer running left behind (pidfile, sockets, pause marker). */
export function cleanupStaleRunFiles(site: Site, vmId: string): void {
  if (isRunning(site, vmId)) return;
  const p = runPaths(site, vmId);
  for (const file of [p.pidFile, p.qmpSocket, p.serialSocket, p.pausedMarker]) fs.rmSync(file, { force: true });
}

export async function waitForPidExit(pid: number, pidFile: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isQemuWithPidfile(pid, pidFile)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}
