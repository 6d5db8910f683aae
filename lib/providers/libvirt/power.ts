// Power operations on a libvirt domain, each an "ensure". Shutdown asks the guest (guest agent when the domain
// has its channel, ACPI otherwise), polls the state until it is off or the timeout passes, then destroys; the
// path reported is the qemu provider's (graceful / timeout_forced / forced / already_off).
import { ProviderError } from "../errors";
import type { ShutdownResult } from "../types";
import { describe, powerState } from "./domains";
import type { LibvirtHost } from "./host";

const POLL_MS = 100;
/** ACPI presses are dropped until the guest has loaded its button driver: ask again this often. */
const RESEND_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isNotRunning(err: unknown): boolean {
  return err instanceof ProviderError && /domain is not running|not running/i.test(err.toolMessage ?? "");
}

export async function powerOn(host: LibvirtHost, vmId: string): Promise<void> {
  const state = await powerState(host, vmId);
  if (state === "running") return;
  if (state === "paused") {
    await host.virsh(["resume", vmId]);
    return;
  }
  try {
    await host.virsh(["start", vmId]);
  } catch (err) {
    // Started meanwhile by someone else: the ensure holds.
    if (err instanceof ProviderError && /already active/i.test(err.toolMessage ?? "")) return;
    throw err;
  }
}

export async function powerOff(host: LibvirtHost, vmId: string): Promise<void> {
  if ((await powerState(host, vmId)) === "off") return;
  try {
    await host.virsh(["destroy", vmId]);
  } catch (err) {
    if (!isNotRunning(err)) throw err;
  }
}

export async function shutdownGuest(
  host: LibvirtHost,
  vmId: string,
  options: { timeoutMs: number },
): Promise<ShutdownResult> {
  const started = Date.now();
  const result = (path: ShutdownResult["path"]): ShutdownResult => ({ path, waitedMs: Date.now() - started });
  const state = await powerState(host, vmId);
  if (state === "off") return result("already_off");
  const domain = await describe(host, vmId);
  if (state === "paused" || !(domain.hasAgentChannel || domain.acpi)) {
    await powerOff(host, vmId);
    return result("forced");
  }
  const mode = domain.hasAgentChannel ? "agent" : "acpi";
  const deadline = started + options.timeoutMs;
  let lastAsked = 0;
  while (Date.now() < deadline) {
    if (Date.now() - lastAsked >= RESEND_MS) {
      lastAsked = Date.now();
      await host.virsh(["shutdown", vmId, "--mode", mode]).catch((err: unknown) => {
        // Off already (the state check below says so), or an agent that does not answer: ACPI next time.
        if (!isNotRunning(err) && mode === "agent" && domain.acpi)
          return host.virsh(["shutdown", vmId, "--mode", "acpi"]);
        return undefined;
      });
    }
    if ((await powerState(host, vmId)) === "off") return result("graceful");
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  if ((await powerState(host, vmId)) === "off") return result("graceful");
  await powerOff(host, vmId);
  return result("timeout_forced");
}
