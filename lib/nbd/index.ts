/**
 * NBD (Network Block Device) client used by the qemu provider to read, write and query
 * allocation / dirty-bitmap status of disks exported by qemu-storage-daemon or qemu-nbd.
 * See README.md in this folder for the supported protocol subset.
 */
export {
  NbdClient,
  type NbdConnectOptions,
  type NbdTarget,
  type WriteOptions,
  type WriteZeroesOptions,
} from "./client";
export { NbdError, isNbdError, type NbdErrorCode } from "./errors";
export { type Extent, coalesceExtents, isDirty, isHole, isZero } from "./extents";
export type { ExportInfo } from "./handshake";
export { BASE_ALLOCATION, NBD_STATE_DIRTY, NBD_STATE_HOLE, NBD_STATE_ZERO } from "./protocol";

/** Meta context name qemu uses for an exported dirty bitmap (`bitmaps.N=<name>` on the export). */
export function dirtyBitmapContext(bitmapName: string): string {
  return `qemu:dirty-bitmap:${bitmapName}`;
}
