// Disk I/O on a running VM from outside the guest, through QEMU's own block backend (HMP qemu-io), for the lab
// and tests: writes land exactly where the guest's would, whatever layer is on top.
import { ProviderError } from "../errors";
import type { Site } from "./site";
import { diskBackendPath } from "./vm-names";
import { withQmp } from "./vm-qmp";

/**
 * Runs a qemu-io command (e.g. "write -P 0xab 0 64k") on a running VM's disk through HMP, i.e. through the
 * guest-visible block backend: the write lands where the guest's own writes would (the top layer). Returns
 * qemu-io's output; a QEMU-side error (unknown device, I/O error, failed pattern check) throws.
 */
export async function qemuIoLive(site: Site, vmId: string, label: string, command: string): Promise<string> {
  if (command.includes('"')) throw new ProviderError("invalid", "qemu-io command must not contain double quotes");
  const output = await withQmp(site, vmId, (qmp) =>
    qmp.execute<string>("human-monitor-command", {
      "command-line": `qemu-io -d ${diskBackendPath(label)} "${command}"`,
    }),
  );
  if (/^Error|failed|error/im.test(output))
    throw new ProviderError("hypervisor", `qemu-io ${command} on ${vmId}/${label} failed`, output.trim());
  return output;
}

/**
 * Writes `length` bytes of `pattern` at `offset` into a running VM's disk and flushes (lab and tests): after the
 * flush, readers of the image files (qemu-img -U, a storage daemon) see the write, and it survives a SIGKILL.
 */
export async function writePatternLive(
  site: Site,
  vmId: string,
  label: string,
  offset: number,
  length: number,
  pattern: number,
): Promise<void> {
  await qemuIoLive(site, vmId, label, `write -P 0x${pattern.toString(16)} ${offset} ${length}`);
  await qemuIoLive(site, vmId, label, "flush");
}
