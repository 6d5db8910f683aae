// libvirt's own way to read a running domain's disk: a pull-mode backup job. libvirt freezes the disk (copy-
// before-write into a scratch file) and QEMU's built-in NBD server exports the frozen view on a unix socket as
// export `<disk>`. The benchmark reads it with our NBD client, wrapped as a read-only DiskHandle, so syncDisk
// runs unchanged against it. One backup job per domain: the handle's close ends it (virsh domjobabort), which
// also makes libvirt delete the scratch file.
import { writeFile } from "node:fs/promises";
import { BASE_ALLOCATION, NbdClient } from "@/lib/nbd";
import type { LibvirtHost } from "@/lib/providers/libvirt/host";
import { NbdDiskHandle, providerErrorFromNbd } from "@/lib/providers/chain-export/disk-handle";
import type { DiskHandle } from "@/lib/providers/types";

export interface PullBackupRequest {
  host: LibvirtHost;
  /** Domain UUID or name; the domain must run. */
  domain: string;
  disk: string;
  /** Where QEMU listens (short path: unix sockets are limited to 108 bytes). */
  socketPath: string;
  /** Copy-before-write target for blocks the guest overwrites while the job runs. */
  scratchFile: string;
  /** Where the job's XML is written (virsh reads it from a file; local daemon). */
  xmlFile: string;
}

const xmlAttr = (value: string) =>
  value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll("'", "&apos;").replaceAll('"', "&quot;");

export function pullBackupXml(request: Pick<PullBackupRequest, "disk" | "socketPath" | "scratchFile">): string {
  return (
    `<domainbackup mode='pull'><server transport='unix' socket='${xmlAttr(request.socketPath)}'/>` +
    `<disks><disk name='${xmlAttr(request.disk)}' type='file'><scratch file='${xmlAttr(request.scratchFile)}'/>` +
    `</disk></disks></domainbackup>`
  );
}

async function abortJob(host: LibvirtHost, domain: string): Promise<void> {
  await host.virsh(["domjobabort", domain]);
}

/** Starts the job and connects to its export. A job whose export cannot be reached is ended, not leaked. */
export async function openPullBackup(request: PullBackupRequest): Promise<DiskHandle> {
  await writeFile(request.xmlFile, pullBackupXml(request));
  await request.host.virsh(["backup-begin", request.domain, request.xmlFile]);
  try {
    const client = await NbdClient.connect({
      socketPath: request.socketPath,
      exportName: request.disk,
      metaContexts: [BASE_ALLOCATION],
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 120_000,
    });
    // Closing the handle ends the job (a job left open would block the domain's next one).
    return new NbdDiskHandle(
      client,
      { stop: () => abortJob(request.host, request.domain) },
      `backup export of ${request.domain}/${request.disk}`,
    );
  } catch (err) {
    await abortJob(request.host, request.domain).catch(() => {});
    throw providerErrorFromNbd(err, `connecting to the backup export of ${request.domain}/${request.disk}`);
  }
}
