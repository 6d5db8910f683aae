// The qemu provider's on-disk layout. A site is a directory; a VM is a folder with vm.json and its disks:
//
//   <site>/vms/<vmId>/vm.json                      configuration + each disk's layer list (the source of truth)
//   <site>/vms/<vmId>/disks/<label>/<layer>.qcow2  one qcow2 file per layer; each backs the one above it
//   <site>/vms/<vmId>/run/                         qemu.pid, qmp.sock, serial.sock, serial.log, nbd sockets
//
// Layer names are the snapshot names (base, rp-1, failover, fb-<session>-work1, …): deterministic, so a retried
// step finds its own files.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ProviderError } from "../errors";

export const layerNamePattern = /^[a-z0-9][a-z0-9._-]{0,80}$/;
export const vmIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const vmConfigSchema = z.object({
  name: z.string().min(1),
  cpus: z.number().int().min(1).max(64).default(1),
  memoryMib: z.number().int().min(16).max(65_536).default(64),
  /** The guest answers ACPI shutdown (the lab's tiny guest). */
  guestAgent: z.boolean().default(false),
  /** "tiny": boot the project's tiny Linux guest (lib/guest); "none": no OS (disk-only VM). */
  guest: z.enum(["none", "tiny"]).default("none"),
  network: z.string().default("none"),
  disks: z
    .array(
      z.object({
        label: z.string().regex(/^vd[a-z]$/),
        sizeBytes: z.number().int().positive(),
        /** Bottom → top; the VM reads and writes through the top layer. */
        layers: z.array(z.string().regex(layerNamePattern)).min(1),
      }),
    )
    .min(1)
    .max(4),
  /** Set on VMs the product must never power on again (replaced by a failback to another VM). */
  retired: z.boolean().default(false),
  /** Kind of each snapshot layer made by ensureSnapshot (layer name → kind); other layers are kind "other". */
  snapshotKinds: z.record(z.string(), z.enum(["working", "protective"])).optional(),
});

export type VmConfig = z.infer<typeof vmConfigSchema>;

export class Site {
  constructor(public readonly dir: string) {}

  vmDir(vmId: string): string {
    if (!vmIdPattern.test(vmId)) throw new ProviderError("invalid", `invalid VM id ${JSON.stringify(vmId)}`);
    return path.join(this.dir, "vms", vmId);
  }
  configFile(vmId: string): string {
    return path.join(this.vmDir(vmId), "vm.json");
  }
  diskDir(vmId: string, label: string): string {
    return path.join(this.vmDir(vmId), "disks", label);
  }
  layerFile(vmId: string, label: string, layer: string): string {
    if (!layerNamePattern.test(layer))
      throw new ProviderError("invalid", `invalid layer name ${JSON.stringify(layer)}`);
    return path.join(this.diskDir(vmId, label), `${layer}.qcow2`);
  }
  runDir(vmId: string): string {
    return path.join(this.vmDir(vmId), "run");
  }

  listVmIds(): string[] {
    const dir = path.join(this.dir, "vms");
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((id) => vmIdPattern.test(id) && fs.existsSync(path.join(dir, id, "vm.json")))
      .sort();
  }

  readConfig(vmId: string): VmConfig {
    const file = this.configFile(vmId);
    if (!fs.existsSync(file)) throw new ProviderError("not_found", `VM ${vmId} not found in site ${this.dir}`);
    const parsed = vmConfigSchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
    if (!parsed.success)
      throw new ProviderError("invalid", `${file} is not a valid VM configuration`, parsed.error.message);
    return parsed.data;
  }

  /** Atomic replace (write + fsync + rename): a crash leaves the old or the new file, never half of one. */
  writeConfig(vmId: string, config: VmConfig): void {
    const file = this.configFile(vmId);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, JSON.stringify(vmConfigSchema.parse(config), null, 2) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }

  /** The files of a disk's chain, bottom → top, optionally only the layers strictly below `below`. */
  chainFiles(vmId: string, label: string, options: { below?: string } = {}): string[] {
    const disk = this.readConfig(vmId).disks.find((d) => d.label === label);
    if (!disk) throw new ProviderError("not_found", `disk ${label} of VM ${vmId} not found`);
    let layers = disk.layers;
    if (options.below !== undefined) {
      const index = layers.indexOf(options.below);
      if (index < 0) throw new ProviderError("not_found", `snapshot ${options.below} not found on ${vmId}/${label}`);
      layers = layers.slice(0, index);
    }
    return layers.map((layer) => this.layerFile(vmId, label, layer));
  }
}
