// libvirt's own way to read a running domain's disk: a pull-mode backup job. libvirt freezes the disk (copy-
// before-write into a scratch file) and QEMU's built-in NBD server exports the frozen view on a unix socket as
// export `<disk>`. The benchmark reads it with our NBD client, wrapped as a read-only DiskHandle, so syncDisk
// runs unchanged against it. One backup job per domain: the handle's close ends it (virsh domjobabort), which
// also makes libvirt delete the scratch file.
import { writeFile } from "node:fs/promises";
import { BASE_ALLOCATION, NbdClient } from "@/lib/nbd";
import { ProviderError } from "@/lib/providers/errors";
import type { LibvirtHost } from "@/lib/providers/libvirt/host";
import { dataRegionsFromAllocation, providerErrorFromNbd } from "@/lib/providers/chain-export/disk-handle";
import type { DiskHandle, Region } from "@/lib/providers/types";

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
export async function openPullBackup(request: PullBackupRequest): Promise<BackupExportHandle> {
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
    return new BackupExportHandle(client, () => abortJob(request.host, request.domain), request);
  } catch (err) {
    await abortJob(request.host, request.domain).catch(() => {});
    throw providerErrorFromNbd(err, `connecting to the backup export of ${request.domain}/${request.disk}`);
  }
}

/** A read-only DiskHandle on a backup job's export (compare NbdDiskHandle in lib/providers/chain-export/disk-handle.ts). */
export class BackupExportHandle implements DiskHandle {
  readonly writable = false;
  private closing: Promise<void> | undefined;
  private readonly description: string;

  constructor(
    private readonly client: NbdClient,
    private readonly endJob: () => Promise<void>,
    where: { domain: string; disk: string },
  ) {
    this.description = `backup export of ${where.domain}/${where.disk}`;
  }

  get sizeBytes(): number {
    return this.client.size;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.call(`reading ${length} bytes at ${offset}`, () => this.client.read(offset, length));
  }

  readInto(offset: number, target: Buffer): Promise<void> {
    return this.call(`reading ${target.length} bytes at ${offset}`, () => this.client.readInto(offset, target));
  }

  async write(): Promise<void> {
    throw new ProviderError("invalid", `write: ${this.description} is read-only`);
  }

  async writeZeroes(): Promise<void> {
    throw new ProviderError("invalid", `writeZeroes: ${this.description} is read-only`);
  }

  /** Nothing is ever written through it. */
  async flush(): Promise<void> {}

  async dataRegions(offset = 0, length = this.sizeBytes - offset): Promise<Region[]> {
    if (length === 0) return [];
    const extents = await this.call(`block status of ${length} bytes at ${offset}`, () =>
      this.client.blockStatus(offset, length, BASE_ALLOCATION),
    );
    return dataRegionsFromAllocation(extents);
  }

  /** Idempotent: the connection first, then the job (a job left open would block the domain's next job). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.client.close();
      } catch {
        this.client.destroy();
      } finally {
        await this.endJob();
      }
    })();
    return this.closing;
  }

  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw providerErrorFromNbd(err, `${what} of ${this.description}`);
    }
  }
}
