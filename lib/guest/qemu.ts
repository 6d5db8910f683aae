// The QEMU command line for booting the lab guest (see README.md). KVM is not assumed: -accel tcg.
import type { GuestImage } from "./build-guest";

export interface GuestQemuOptions {
  image: GuestImage;
  /** qcow2 image attached as the guest's /dev/vda (virtio-blk). */
  disk: string;
  /** Disk format; default "qcow2". */
  diskFormat?: string;
  /** Unix socket where QEMU listens for the serial console (ttyS0). */
  serialSocket: string;
  /** File that receives everything the guest prints on ttyS0. */
  serialLog?: string;
  /** Unix socket where QEMU listens for QMP. */
  qmpSocket: string;
  /** Guest RAM in MiB; default 256. */
  memoryMiB?: number;
  /** Extra kernel command line words. */
  extraKernelArgs?: string[];
}

export const QEMU_SYSTEM_BINARY = "qemu-system-x86_64";

export function guestQemuArgs(o: GuestQemuOptions): string[] {
  const serial = [`socket`, `id=s0`, `path=${o.serialSocket}`, `server=on`, `wait=off`];
  if (o.serialLog) serial.push(`logfile=${o.serialLog}`);
  return [
    "-machine",
    "q35",
    "-accel",
    "tcg",
    "-nodefaults",
    "-display",
    "none",
    "-m",
    String(o.memoryMiB ?? 256),
    "-kernel",
    o.image.kernel,
    "-initrd",
    o.image.initrd,
    "-append",
    ["console=ttyS0", "quiet", "panic=-1", ...(o.extraKernelArgs ?? [])].join(" "),
    "-no-reboot",
    "-serial",
    "chardev:s0",
    "-chardev",
    serial.join(","),
    "-qmp",
    `unix:${o.qmpSocket},server=on,wait=off`,
    "-drive",
    `file=${o.disk},if=virtio,format=${o.diskFormat ?? "qcow2"}`,
  ];
}
