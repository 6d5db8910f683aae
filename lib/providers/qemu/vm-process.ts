// Starting and stopping a VM's QEMU process. It runs daemonized, so it outlives the Node process that started
// it; whether it runs is decided from its pidfile (vm-liveness.ts), never from a child-process handle.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureGuestImage } from "@/lib/guest/build-guest";
import { ProviderError } from "../errors";
import { runTool } from "../chain-export/exec";
import type { Site, VmConfig } from "./site";
import { qemuArgs } from "./vm-command-line";
import { cleanupStaleRunFiles, qemuPid, waitForPidExit } from "./vm-liveness";
import { runPaths } from "./vm-names";
import { withQmp } from "./vm-qmp";

export const QEMU_BINARY = "qemu-system-x86_64";

export interface VmProcessOptions {
  /** Where the tiny guest's kernel/initrd are built and cached (the lab: <dataDir>/guest-cache). */
  guestCacheDir?: string;
  /** Progress lines (e.g. a first-time guest image build). */
  log?: (line: string) => void;
}

export function defaultGuestCacheDir(): string {
  return process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");
}

/**
 * Starts the VM's QEMU (caller holds the VM lock and has checked it is not running). `-daemonize`: QEMU
 * forks, the parent exits once the VM is set up (QMP listening) and reports start-up errors; the VM
 * survives the Node process.
 */
export async function startVmProcess(
  site: Site,
  vmId: string,
  config: VmConfig,
  options: VmProcessOptions = {},
): Promise<number> {
  const p = runPaths(site, vmId);
  cleanupStaleRunFiles(site, vmId);
  fs.mkdirSync(p.runDir, { recursive: true });
  fs.mkdirSync(path.dirname(p.qmpSocket), { recursive: true });
  for (const disk of config.disks) {
    for (const layer of disk.layers) {
      const file = site.layerFile(vmId, disk.label, layer);
      if (!fs.existsSync(file)) throw new ProviderError("not_found", `layer file ${file} of VM ${vmId} is missing`);
    }
  }
  const guest =
    config.guest === "tiny"
      ? await ensureGuestImage(options.guestCacheDir ?? defaultGuestCacheDir(), { log: options.log })
      : undefined;
  await runTool(QEMU_BINARY, qemuArgs(site, vmId, config, guest), { timeoutMs: 60_000 });
  const pid = qemuPid(site, vmId);
  if (pid === null)
    throw new ProviderError("hypervisor", `QEMU for VM ${vmId} exited right after start`, undefined, true);
  return pid;
}

/**
 * Stops the VM's QEMU: QMP quit, SIGKILL if it has not exited after `quitTimeoutMs`. Returns false if it was
 * not running. Always leaves no stale run files.
 */
export async function stopVmProcess(
  site: Site,
  vmId: string,
  options: { quitTimeoutMs?: number } = {},
): Promise<boolean> {
  const pid = qemuPid(site, vmId);
  const { pidFile } = runPaths(site, vmId);
  if (pid === null) {
    cleanupStaleRunFiles(site, vmId);
    return false;
  }
  const quitTimeoutMs = options.quitTimeoutMs ?? 3_000;
  const deadline = Date.now() + quitTimeoutMs;
  try {
    // Short connect timeout: if another process holds the monitor we go straight to SIGKILL.
    await withQmp(site, vmId, (qmp) => qmp.execute("quit", undefined, { timeoutMs: quitTimeoutMs }), {
      connectTimeoutMs: Math.min(quitTimeoutMs, 2_000),
    });
  } catch {
    // QEMU may close the connection before answering; the pid check below decides.
  }
  if (!(await waitForPidExit(pid, pidFile, Math.max(0, deadline - Date.now())))) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
    if (!(await waitForPidExit(pid, pidFile, 5_000))) {
      throw new ProviderError("hypervisor", `QEMU pid ${pid} of VM ${vmId} survived SIGKILL`, undefined, true);
    }
  }
  cleanupStaleRunFiles(site, vmId);
  return true;
}
