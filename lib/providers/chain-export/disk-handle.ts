// A DiskHandle (lib/providers/types.ts) over our NBD client talking to a qemu-storage-daemon export.
import { BASE_ALLOCATION, type Extent, type NbdClient, NbdError, isZero } from "@/lib/nbd";
import { ProviderError } from "../errors";
import type { DiskHandle, Region } from "../types";
import type { StorageDaemon } from "./storage-daemon";

/** Zeroes are written as data in chunks of this size when the server cannot WRITE_ZEROES. */
const ZERO_FALLBACK_CHUNK = 1024 * 1024;

/**
 * Turns a client failure into the provider's vocabulary. A lost connection is transient: the daemon died or was
 * stopped, and reopening the disk may well work.
 */
export function providerErrorFromNbd(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (!(err instanceof NbdError))
    return new ProviderError("hypervisor", what, err instanceof Error ? err.message : String(err));
  switch (err.code) {
    case "ECONNRESET":
    case "CLOSED":
    case "ECONNREFUSED":
    case "ESHUTDOWN":
    case "TIMEOUT":
      return new ProviderError("hypervisor", `${what}: NBD connection lost (${err.code})`, err.message, true);
    case "ENOSPC":
      return new ProviderError("no_space", what, err.message);
    case "EPERM":
    // Out of range or misaligned: the caller's mistake, and retrying will not help.
    case "EINVAL":
      return new ProviderError("invalid", what, err.message);
    default:
      return new ProviderError("hypervisor", `${what} (${err.code})`, err.message);
  }
}

/** Ranges that may hold non-zero data. Only ZERO excludes a range: HOLE alone may still read as non-zero. */
export function dataRegionsFromAllocation(extents: readonly Extent[]): Region[] {
  return mergeRegions(extents.filter((e) => !isZero(e)));
}

/** Sorted, adjacent or overlapping regions joined. */
export function mergeRegions(regions: readonly Region[]): Region[] {
  const sorted = [...regions].filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const out: Region[] = [];
  for (const { offset, length } of sorted) {
    const last = out[out.length - 1];
    if (last && offset <= last.offset + last.length) {
      last.length = Math.max(last.length, offset + length - last.offset);
    } else {
      out.push({ offset, length });
    }
  }
  return out;
}

export class NbdDiskHandle implements DiskHandle {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly client: NbdClient,
    /** Whatever serves the export (a storage daemon, an SSH forward, a backup job): stopped when the handle closes. */
    private readonly daemon: Pick<StorageDaemon, "stop">,
    /** Where the disk comes from, for error messages ("vm1/vda below fb-S-protect1", a file name …). */
    private readonly description: string,
  ) {}

  get sizeBytes(): number {
    return this.client.size;
  }

  get writable(): boolean {
    return !this.client.readOnly;
  }

  /** False once the daemon is gone (stopped, killed, or replaced by a new owner of the disk). */
  get connected(): boolean {
    return this.client.isOpen;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.call(`reading ${length} bytes at ${offset}`, () => this.client.read(offset, length));
  }

  readInto(offset: number, target: Buffer): Promise<void> {
    return this.call(`reading ${target.length} bytes at ${offset}`, () => this.client.readInto(offset, target));
  }

  async write(offset: number, data: Buffer): Promise<void> {
    this.refuseIfReadOnly("write");
    await this.call(`writing ${data.length} bytes at ${offset}`, () => this.client.write(offset, data));
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.refuseIfReadOnly("writeZeroes");
    await this.call(`zeroing ${length} bytes at ${offset}`, async () => {
      if (this.client.canWriteZeroes) return this.client.writeZeroes(offset, length);
      const zeroes = Buffer.alloc(Math.min(length, ZERO_FALLBACK_CHUNK));
      for (let at = offset; at < offset + length; at += zeroes.length) {
        await this.client.write(at, zeroes.subarray(0, Math.min(zeroes.length, offset + length - at)));
      }
    });
  }

  flush(): Promise<void> {
    return this.call("flushing", () => this.client.flush());
  }

  async dataRegions(offset = 0, length = this.sizeBytes - offset): Promise<Region[]> {
    if (length === 0) return [];
    const extents = await this.call(`block status of ${length} bytes at ${offset}`, () =>
      this.client.blockStatus(offset, length, BASE_ALLOCATION),
    );
    return dataRegionsFromAllocation(extents);
  }

  /** Idempotent. The client first (outstanding writes finish and reach the daemon), then the daemon. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.client.close();
      } catch {
        // The connection is already gone (daemon died): nothing left to finish, stopping the daemon is all.
        this.client.destroy();
      } finally {
        await this.daemon.stop();
      }
    })();
    return this.closing;
  }

  private refuseIfReadOnly(what: string): void {
    if (this.client.readOnly) throw new ProviderError("invalid", `${what}: ${this.description} is opened read-only`);
  }

  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw providerErrorFromNbd(err, `${what} of ${this.description}`);
    }
  }
}
