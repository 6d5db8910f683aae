// The qemu-system command line of a VM, built from vm.json alone.
//
// Block graph: every layer of every disk is its own -blockdev node with an explicit node name
// (nodeName(label, layer), e.g. "vda-base", "vda-failover"); each node's backing is the node of the layer below
// as vm.json lists it (the qcow2 headers are not followed). The top layer's node is attached to a virtio-blk
// device whose id is the disk label. So vm.json alone decides what QEMU sees, and QMP operations address
// layers by name.
import path from "node:path";
import { ProviderError } from "../errors";
import type { Site, VmConfig } from "./site";
import { fileNodeName, nodeName, runPaths } from "./vm-names";

/** A VM without an OS needs no more (QEMU itself ≈ 35 MB RSS). */
export const NO_OS_MEMORY_MIB = 64;
/** The tiny guest's kernel + initramfs are unpacked in RAM; below this it may not boot. */
export const TINY_GUEST_MIN_MEMORY_MIB = 256;

export interface GuestFiles {
  kernel: string;
  initrd: string;
}

/** QEMU's comma escaping for option values. */
const escapeOpt = (value: string) => value.replaceAll(",", ",,");

export function qemuArgs(site: Site, vmId: string, config: VmConfig, guest?: GuestFiles): string[] {
  const p = runPaths(site, vmId);
  const tiny = config.guest === "tiny";
  const memory = tiny ? Math.max(config.memoryMib, TINY_GUEST_MIN_MEMORY_MIB) : NO_OS_MEMORY_MIB;
  const args = [
    "-accel",
    "tcg",
    "-machine",
    "q35",
    "-nodefaults",
    "-display",
    "none",
    "-name",
    config.name.replaceAll(",", " "),
    "-m",
    String(memory),
    "-smp",
    String(config.cpus),
    "-qmp",
    `unix:${escapeOpt(p.qmpSocket)},server=on,wait=off`,
    "-pidfile",
    p.pidFile,
    "-daemonize",
  ];
  if (tiny) {
    if (!guest) throw new ProviderError("invalid", `VM ${vmId} needs the tiny guest image`);
    args.push(
      "-kernel",
      path.resolve(guest.kernel),
      "-initrd",
      path.resolve(guest.initrd),
      "-append",
      "console=ttyS0 quiet panic=-1",
      // panic=-1 + -no-reboot: a guest that panics makes QEMU exit instead of hanging.
      "-no-reboot",
      "-serial",
      "chardev:s0",
      "-chardev",
      `socket,id=s0,path=${escapeOpt(p.serialSocket)},server=on,wait=off,logfile=${escapeOpt(p.serialLog)}`,
    );
  }
  for (const disk of config.disks) {
    disk.layers.forEach((layer, i) => {
      const below = i > 0 ? disk.layers[i - 1] : undefined;
      args.push(
        "-blockdev",
        JSON.stringify({
          driver: "qcow2",
          "node-name": nodeName(disk.label, layer),
          file: {
            driver: "file",
            filename: path.resolve(site.layerFile(vmId, disk.label, layer)),
            "node-name": fileNodeName(disk.label, layer),
          },
          backing: below === undefined ? null : nodeName(disk.label, below),
        }),
      );
    });
    const top = disk.layers[disk.layers.length - 1] as string;
    args.push("-device", `virtio-blk-pci,drive=${nodeName(disk.label, top)},id=${disk.label}`);
  }
  return args;
}
