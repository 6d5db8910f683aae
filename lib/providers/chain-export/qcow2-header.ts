// Reads the few qcow2 header fields that decide whether a layer's clusters can be read straight from its file:
// the guest data must be stored as plain bytes in this very file (not encrypted, not in an external data file).
import { open } from "node:fs/promises";

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** Version 3 headers are at least this long; version 2 headers stop at 72 bytes. */
const HEADER_READ_BYTES = 104;
const CRYPT_METHOD_AT = 32;
const INCOMPATIBLE_FEATURES_AT = 72;
/** Incompatible feature bit 2: the guest data lives in an external data file, not in this one. */
const EXTERNAL_DATA_FILE_BIT = 1n << 2n;

export type RawDataVerdict = { readable: true } | { readable: false; reason: string };

/** Whether the clusters qemu-img map points at in `file` hold the guest's bytes as they are. */
export async function clustersReadableAsIs(file: string): Promise<RawDataVerdict> {
  const handle = await open(file, "r");
  try {
    const header = Buffer.alloc(HEADER_READ_BYTES);
    const { bytesRead } = await handle.read(header, 0, HEADER_READ_BYTES, 0);
    if (bytesRead < INCOMPATIBLE_FEATURES_AT || header.readUInt32BE(0) !== QCOW2_MAGIC)
      return { readable: false, reason: `${file} is not a qcow2 image` };
    if (header.readUInt32BE(CRYPT_METHOD_AT) !== 0) return { readable: false, reason: `${file} is encrypted` };
    const version = header.readUInt32BE(4);
    if (version >= 3 && bytesRead >= INCOMPATIBLE_FEATURES_AT + 8) {
      const incompatible = header.readBigUInt64BE(INCOMPATIBLE_FEATURES_AT);
      if (incompatible & EXTERNAL_DATA_FILE_BIT)
        return { readable: false, reason: `${file} keeps its data in an external data file` };
    }
    return { readable: true };
  } finally {
    await handle.close();
  }
}
