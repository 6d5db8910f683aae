// A minimal writer for the "newc" cpio format (the one the Linux kernel unpacks as an initramfs),
// so building the guest needs no `cpio` package on the host.
// Format: https://www.kernel.org/doc/html/latest/driver-api/early-userspace/buffer-format.html

export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Buffer | string; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "chardev"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** A fixed mtime keeps the archive byte-for-byte reproducible (2020-01-01T00:00:00Z). */
const FIXED_MTIME = 1_577_836_800;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, "0");
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(fields: {
  ino: number;
  mode: number;
  nlink: number;
  filesize: number;
  rdevmajor: number;
  rdevminor: number;
  namesize: number;
}): Buffer {
  const values = [
    fields.ino,
    fields.mode,
    0, // uid: root
    0, // gid: root
    fields.nlink,
    FIXED_MTIME,
    fields.filesize,
    0, // devmajor
    0, // devminor
    fields.rdevmajor,
    fields.rdevminor,
    fields.namesize,
    0, // check (only used by the "crc" variant)
  ];
  return Buffer.from("070701" + values.map(hex8).join(""), "ascii");
}

function normalise(p: string): string {
  const name = p.replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "" || name.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new Error(`invalid cpio path: ${JSON.stringify(p)}`);
  }
  return name;
}

/** Serialises entries (in the given order; parents must come before children) into a newc archive. */
export function buildCpio(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    chunks.push(b);
    offset += b.length;
  };
  const seen = new Set<string>();
  let ino = 1;

  const writeEntry = (name: string, mode: number, nlink: number, data: Buffer, rdev: [number, number]) => {
    const nameBuf = Buffer.from(name + "\0", "utf8");
    push(
      header({
        ino: ino++,
        mode,
        nlink,
        filesize: data.length,
        rdevmajor: rdev[0],
        rdevminor: rdev[1],
        namesize: nameBuf.length,
      }),
    );
    push(nameBuf);
    push(pad4(offset));
    if (data.length > 0) {
      push(data);
      push(pad4(offset));
    }
  };

  for (const entry of entries) {
    const name = normalise(entry.path);
    if (seen.has(name)) throw new Error(`duplicate cpio path: ${name}`);
    seen.add(name);
    switch (entry.type) {
      case "dir":
        writeEntry(name, S_IFDIR | (entry.mode ?? 0o755), 2, Buffer.alloc(0), [0, 0]);
        break;
      case "file": {
        const data = typeof entry.data === "string" ? Buffer.from(entry.data, "utf8") : entry.data;
        writeEntry(name, S_IFREG | (entry.mode ?? 0o644), 1, data, [0, 0]);
        break;
      }
      case "symlink":
        writeEntry(name, S_IFLNK | 0o777, 1, Buffer.from(entry.target, "utf8"), [0, 0]);
        break;
      case "chardev":
        writeEntry(name, S_IFCHR | (entry.mode ?? 0o600), 1, Buffer.alloc(0), [entry.major, entry.minor]);
        break;
    }
  }
  writeEntry("TRAILER!!!", 0, 1, Buffer.alloc(0), [0, 0]);
  return Buffer.concat(chunks);
}
