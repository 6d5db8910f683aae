// The data plane: block diff + transfer between two disk views, and strong verification. See README.md.
export { DEFAULT_BLOCK_SIZE } from "./block-geometry";
export { diskDigest } from "./disk-digest";
export { ReadBackMismatchError } from "./errors";
export { syncDisk } from "./sync-disk";
export type {
  DiskDigest,
  DiskDigestOptions,
  SyncCheckpoint,
  SyncOptions,
  SyncProgress,
  SyncResult,
  VerifyOptions,
  VerifyResult,
} from "./types";
export { verifyDisk } from "./verify-disk";
