// Power operations on a qemu-site VM. Each is an "ensure": calling it again has no second effect.
import fs from "node:fs";
import { ProviderError } from "../errors";
import type { PowerState, ShutdownResult } from "../types";
import type { Site } from "./site";
import { reconcileVmLocked } from "./snapshot-reconcile";
import { cleanupStaleRunFiles, qemuPid, waitForPidExit } from "./vm-liveness";
import { tryWithVmLock, withVmLock } from "./vm-lock";
import { runPaths } from "./vm-names";
import { startVmProcess, stopVmProcess, type VmProcessOptions } from "./vm-process";
import { withQmp } from "./vm-qmp";

/** How often system_powerdown is repeated: QEMU drops presses until the guest has loaded its button driver. */
const POWERDOWN_RESEND_MS = 1_000;

interface QueryStatus {
  status: string;
  running: boolean;
}

export async function powerState(site: Site, vmId: string): Promise<PowerState> {
  site.readConfig(vmId); // not_found for an unknown VM
  if (qemuPid(site, vmId) === null) return reportOff(site, vmId);
  try {
    const { status } = await withQmp(site, vmId, (qmp) => qmp.execute<QueryStatus>("query-status"));
    // Anything but "running" (paused, suspended, io-error, guest-panicked, …) does not run the guest.
    return status === "running" ? "running" : "paused";
  } catch (err) {
    if (qemuPid(site, vmId) === null) return reportOff(site, vmId); // exited while we asked
    throw err;
  }
}

/**
 * A QEMU that was killed leaves its pidfile and sockets: clean them, unless someone is busy with the VM right
 * now (e.g. starting it) — then they will.
 */
async function reportOff(site: Site, vmId: string): Promise<"off"> {
  const { pidFile, qmpSocket } = runPaths(site, vmId);
  if (fs.existsSync(pidFile) || fs.existsSync(qmpSocket))
    await tryWithVmLock(site, vmId, async () => cleanupStaleRunFiles(site, vmId));
  return "off";
}

/** Ensures the VM runs. A paused VM is resumed. A retired VM is refused ("invalid"). */
export async function powerOn(site: Site, vmId: string, options: VmProcessOptions = {}): Promise<void> {
  await withVmLock(site, vmId, async () => {
    const config = site.readConfig(vmId);
    if (config.retired) throw new ProviderError("invalid", `VM ${vmId} is retired and must not be powered on`);
    if (qemuPid(site, vmId) !== null) {
      await withQmp(site, vmId, async (qmp) => {
        const { status } = await qmp.execute<QueryStatus>("query-status");
        if (status === "paused") await qmp.execute("cont");
      });
      return;
    }
    // Finish whatever a crashed snapshot operation left, so QEMU starts on the chain vm.json describes.
    const report = await reconcileVmLocked(site, vmId);
    if (report.problems.length > 0) {
      throw new ProviderError("invalid", `VM ${vmId} has inconsistent disk layers`, report.problems.join("; "));
    }
    await startVmProcess(site, vmId, site.readConfig(vmId), options);
  });
}

/** Hard power-off (QMP quit, SIGKILL after a short wait). Off already → no-op. */
export async function powerOff(site: Site, vmId: string): Promise<void> {
  await withVmLock(site, vmId, async () => {
    site.readConfig(vmId);
    await stopVmProcess(site, vmId);
  });
}

/**
 * Shuts the VM down the way the behaviour asks: with a guest agent (vm.json guestAgent: true) press the ACPI
 * power button every second until QEMU exits or `timeoutMs` passes, then power off; without an agent, or
 * when paused, power off at once.
 */
export async function shutdownGuest(site: Site, vmId: string, options: { timeoutMs: number }): Promise<ShutdownResult> {
  const started = Date.now();
  const result = (path: ShutdownResult["path"]): ShutdownResult => ({ path, waitedMs: Date.now() - started });
  return withVmLock(site, vmId, async () => {
    const config = site.readConfig(vmId);
    const pid = qemuPid(site, vmId);
    if (pid === null) {
      cleanupStaleRunFiles(site, vmId);
      return result("already_off");
    }
    let status: string;
    try {
      status = (await withQmp(site, vmId, (qmp) => qmp.execute<QueryStatus>("query-status"))).status;
    } catch (err) {
      if (qemuPid(site, vmId) === null) {
        cleanupStaleRunFiles(site, vmId);
        return result("already_off");
      }
      throw err;
    }
    if (!config.guestAgent || status !== "running") {
      await stopVmProcess(site, vmId);
      return result("forced");
    }
    const { pidFile } = runPaths(site, vmId);
    const deadline = started + options.timeoutMs;
    while (Date.now() < deadline) {
      // A fresh connection per press leaves the monitor free for other processes in between.
      await withQmp(site, vmId, (qmp) => qmp.execute("system_powerdown"), { connectTimeoutMs: 5_000 }).catch(() => {
        // QEMU may be exiting right now; the pid check decides.
      });
      if (await waitForPidExit(pid, pidFile, Math.min(POWERDOWN_RESEND_MS, Math.max(0, deadline - Date.now())))) {
        cleanupStaleRunFiles(site, vmId);
        return result("graceful");
      }
    }
    await stopVmProcess(site, vmId);
    return result("timeout_forced");
  });
}
