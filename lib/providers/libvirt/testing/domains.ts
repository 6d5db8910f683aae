// Throwaway libvirt domains for tests: a provider on the test daemon with its own storage folder, domain names
// carrying a random tag (runs side by side never meet), and a cleanup that destroys and undefines every domain
// of the tag and removes the folder.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LIBVIRT_URI } from "@/lib/testing/libvirt";
import type { NewDomainConfig } from "../create";
import { removeDomain, removeDomainsNamed } from "../domains";
import { LibvirtHost } from "../host";
import { LibvirtProvider, type LibvirtProviderOptions } from "../provider";

export const MiB = 1024 * 1024;
export const block = 64 * 1024;

export class TestDomains {
  readonly tag = `fbt-${crypto.randomBytes(3).toString("hex")}`;
  readonly storageDir: string;
  readonly provider: LibvirtProvider;

  constructor(options: Partial<LibvirtProviderOptions> = {}) {
    this.storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "fblv-"));
    this.provider = new LibvirtProvider({ uri: LIBVIRT_URI, storageDir: this.storageDir, ...options });
  }

  /** A domain named `<tag>-<name>` with empty disks (no OS unless `guest` is given). */
  create(name: string, config: Partial<NewDomainConfig> = {}) {
    return this.provider.createVm({
      name: `${this.tag}-${name}`,
      guestAgent: false,
      disks: [
        { label: "vda", sizeBytes: 16 * MiB },
        { label: "vdb", sizeBytes: 8 * MiB },
      ],
      ...config,
    });
  }

  /** One byte of a stopped domain's disk, or of the frozen view below snapshot `at`. */
  async byteAt(vmId: string, disk: string, offset: number, at?: string): Promise<number> {
    const handle = await this.provider.openDiskForRead(vmId, disk, at ? { at } : {});
    try {
      return (await handle.read(offset, 1))[0] as number;
    } finally {
      await handle.close();
    }
  }

  async fill(vmId: string, disk: string, offset: number, length: number, value: number): Promise<void> {
    const handle = await this.provider.openTopForWrite(vmId, disk);
    try {
      await handle.write(offset, Buffer.alloc(length, value));
    } finally {
      await handle.close();
    }
  }

  /** Files of the journal (.tmp, .commit, .trash) left anywhere in the storage folder. */
  leftovers(): string[] {
    return fs
      .readdirSync(this.storageDir, { recursive: true, encoding: "utf8" })
      .filter((f) => /\.(tmp|commit|trash)$/.test(f));
  }

  async cleanup(): Promise<void> {
    await removeDomainsTagged(new LibvirtHost(LIBVIRT_URI), this.tag);
    fs.rmSync(this.storageDir, { recursive: true, force: true });
  }
}

/** Destroys and undefines every domain whose name starts with `tag` (checkpoint records included). */
export async function removeDomainsTagged(host: LibvirtHost, tag: string): Promise<void> {
  await removeDomainsNamed(host, tag);
}

/** Destroys and undefines every domain with a disk in one of `folders` (a test's own storage). */
export async function removeDomainsStoredIn(host: LibvirtHost, folders: readonly string[]): Promise<void> {
  const uuids = (await host.virsh(["list", "--all", "--uuid"]))
    .split("\n")
    .map((n) => n.trim())
    .filter(Boolean);
  for (const uuid of uuids) {
    const disks = await host.virsh(["domblklist", uuid]).catch(() => "");
    if (!folders.some((folder) => disks.includes(`${folder}/`))) continue;
    await removeDomain(host, uuid);
  }
}
