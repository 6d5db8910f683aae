// Shared pieces of the provider contract cases: the per-subject context (unique names, timings, a guard that
// records every rejection that is not a typed ProviderError), byte models of disks compared with what the
// provider reads back, and changed-block expectations.
import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { ProviderError, type ProviderErrorKind, providerErrorKinds } from "../errors";
import type { ChangedBlocks, DiskHandle, Provider, Region } from "../types";
import type { ContractSubject, ContractVmSpec } from "./contract-subject";

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** The change-tracking block the cases write in. */
export const BLOCK = 64 * KiB;

export interface ContractContext {
  /** The subject, its methods guarded like the provider's. */
  subject: ContractSubject;
  /** The subject's provider behind the typed-error guard (and every disk handle it returns). */
  provider: Provider;
  /** subject.providerAt(storage) behind the same guard. */
  providerAt(storage: string): Provider;
  /** A VM name unique to this run (a libvirt host keeps domains across runs). */
  name(slug: string): string;
  timings: Record<string, number>;
  /** Rejections (or throws) of provider / subject / handle calls that were not a ProviderError with a known kind. */
  untypedRejections: string[];
}

export type ContextGetter = () => ContractContext;

export function makeContext(raw: ContractSubject): ContractContext {
  const untypedRejections: string[] = [];
  const tag = randomBytes(3).toString("hex");
  const record = (where: string, err: unknown) => {
    if (!isTypedProviderError(err))
      untypedRejections.push(`${where}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  };
  return {
    subject: guard(raw, raw.name, record),
    provider: guard(raw.provider, `${raw.name} provider`, record),
    providerAt: (storage) => guard(raw.providerAt(storage), `${raw.name} providerAt(${storage})`, record),
    name: (slug) => `ct-${tag}-${slug}`,
    timings: {},
    untypedRejections,
  };
}

export const isTypedProviderError = (err: unknown): err is ProviderError =>
  err instanceof ProviderError && (providerErrorKinds as readonly string[]).includes(err.kind);

const looksLikeDiskHandle = (value: unknown): value is DiskHandle =>
  typeof value === "object" &&
  value !== null &&
  ["read", "write", "dataRegions", "close"].every((m) => typeof (value as Record<string, unknown>)[m] === "function");

/** A proxy whose method calls report every untyped failure; disk handles they resolve to are guarded too. */
function guard<T extends object>(target: T, label: string, record: (where: string, err: unknown) => void): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value !== "function" || prop === "constructor") return value;
      return (...args: unknown[]) => {
        const where = `${label}.${String(prop)}`;
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(obj, args);
        } catch (err) {
          record(where, err);
          throw err;
        }
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved: unknown) =>
            looksLikeDiskHandle(resolved) ? guard(resolved, `${where}→handle`, record) : resolved,
          (err: unknown) => {
            record(where, err);
            throw err;
          },
        );
      };
    },
  });
}

/** One contract case; the typed-error guard is checked after the body. */
export function contractCase(
  get: ContextGetter,
  title: string,
  body: (ctx: ContractContext) => Promise<void>,
  timeoutMs?: number,
): void {
  it(
    title,
    async () => {
      const ctx = get();
      ctx.untypedRejections.length = 0;
      await body(ctx);
      expect(ctx.untypedRejections.splice(0), "rejections that are not typed ProviderErrors").toEqual([]);
    },
    timeoutMs,
  );
}

/** The ProviderError a promise rejects with (failing the test if it resolves or rejects otherwise). */
export async function rejection(
  promise: Promise<unknown>,
  kinds?: readonly ProviderErrorKind[],
): Promise<ProviderError> {
  const err = await promise.then(
    () => new Error("resolved, but a rejection was expected"),
    (e: unknown) => e,
  );
  expect(isTypedProviderError(err), `a typed ProviderError, got ${String(err)}`).toBe(true);
  const typed = err as ProviderError;
  if (kinds) expect(kinds, `kind of "${typed.message}"`).toContain(typed.kind);
  return typed;
}

export async function timed<T>(ctx: ContractContext, key: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    ctx.timings[key] = Date.now() - started;
  }
}

// ── VMs and bytes ─────────────────────────────────────────────────────────────────────────────────

export const twoDisks = [
  { label: "vda", sizeBytes: 8 * MiB },
  { label: "vdb", sizeBytes: 4 * MiB },
];

export const plainVm = (disks = twoDisks): ContractVmSpec => ({ disks, guestAgent: false, guest: "none" });

export interface Write {
  disk: string;
  offset: number;
  length: number;
  pattern: number;
}

/** What each disk of a VM should read as, byte for byte. */
export type DiskModel = Record<string, Buffer>;

export const emptyModel = (disks: { label: string; sizeBytes: number }[]): DiskModel =>
  Object.fromEntries(disks.map((d) => [d.label, Buffer.alloc(d.sizeBytes)]));

export const cloneModel = (model: DiskModel): DiskModel =>
  Object.fromEntries(Object.entries(model).map(([label, bytes]) => [label, Buffer.from(bytes)]));

export function applyWrites(model: DiskModel, writes: readonly Write[]): DiskModel {
  for (const w of writes) {
    const bytes = model[w.disk];
    if (!bytes) throw new Error(`no disk ${w.disk} in the model`);
    bytes.fill(w.pattern, w.offset, w.offset + w.length);
  }
  return model;
}

async function writeThrough(open: (disk: string) => Promise<DiskHandle>, writes: readonly Write[]): Promise<void> {
  for (const disk of new Set(writes.map((w) => w.disk))) {
    const handle = await open(disk);
    try {
      for (const w of writes.filter((x) => x.disk === disk))
        await handle.write(w.offset, Buffer.alloc(w.length, w.pattern));
      await handle.flush();
    } finally {
      await handle.close();
    }
  }
}

/** Writes into the top layer of a powered-off VM (subject.openTopForWrite). */
export const writeTop = (ctx: ContractContext, vmId: string, writes: readonly Write[]) =>
  writeThrough((disk) => ctx.subject.openTopForWrite(vmId, disk), writes);

/** Writes into a working snapshot's delta (provider.openSnapshotForWrite). */
export const writeSnapshot = (ctx: ContractContext, vmId: string, snapshot: string, writes: readonly Write[]) =>
  writeThrough((disk) => ctx.provider.openSnapshotForWrite(vmId, disk, snapshot), writes);

/** Writes made by the running VM itself. */
export async function writeRunning(ctx: ContractContext, vmId: string, writes: readonly Write[]): Promise<void> {
  for (const w of writes) await ctx.subject.writeThroughRunningVm(vmId, w.disk, w.offset, w.length, w.pattern);
}

/** The whole disk (or its frozen view below snapshot `at`) as the provider (default the subject's) reads it. */
export async function readDisk(
  ctx: ContractContext,
  vmId: string,
  disk: string,
  at?: string,
  provider: Provider = ctx.provider,
): Promise<Buffer> {
  const handle = await provider.openDiskForRead(vmId, disk, at === undefined ? {} : { at });
  try {
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < handle.sizeBytes; offset += MiB)
      chunks.push(await handle.read(offset, Math.min(MiB, handle.sizeBytes - offset)));
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
  }
}

/** Where two disk images first differ, or null when they are equal. */
export function firstDifference(actual: Buffer, expected: Buffer): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, want ${expected.length}`;
  if (actual.equals(expected)) return null;
  let first = -1;
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  const hex = (b: number | undefined) => `0x${(b ?? 0).toString(16).padStart(2, "0")}`;
  return (
    `first difference at byte ${first} (block ${Math.floor(first / BLOCK)}): ` +
    `got ${hex(actual[first])}, want ${hex(expected[first])}; ${count} bytes differ`
  );
}

/** Every disk of the model reads back exactly so (now, or frozen below snapshot `at`). */
export async function expectDisks(
  ctx: ContractContext,
  vmId: string,
  model: DiskModel,
  options: { at?: string; what?: string } = {},
): Promise<void> {
  for (const [disk, expected] of Object.entries(model)) {
    const actual = await readDisk(ctx, vmId, disk, options.at);
    const view = options.at === undefined ? "now" : `at ${options.at}`;
    expect(firstDifference(actual, expected), `${options.what ?? vmId}: ${disk} ${view}`).toBeNull();
  }
}

// ── changed blocks ───────────────────────────────────────────────────────────────────────────────

/** Sorted, with touching or overlapping regions merged (providers may split a run differently). */
export function normalizeRegions(regions: readonly Region[]): Region[] {
  const sorted = [...regions].filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const merged: Region[] = [];
  for (const r of sorted) {
    const last = merged.at(-1);
    if (last && r.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else merged.push({ ...r });
  }
  return merged;
}

/** The blocks of `granularity` the writes to `disk` touch. */
export const blocksOf = (writes: readonly Write[], disk: string, granularity: number): Region[] =>
  normalizeRegions(
    writes
      .filter((w) => w.disk === disk)
      .map((w) => {
        const start = Math.floor(w.offset / granularity) * granularity;
        const end = Math.ceil((w.offset + w.length) / granularity) * granularity;
        return { offset: start, length: end - start };
      }),
  );

/** Available, and exactly the blocks the writes to `disk` touched. */
export function expectChangedExactly(changed: ChangedBlocks, writes: readonly Write[], disk: string, what: string) {
  expect(changed.available, `${what}: ${changed.available ? "" : changed.reason}`).toBe(true);
  if (!changed.available) return;
  expect(changed.granularity, `${what}: granularity`).toBeGreaterThan(0);
  expect(BLOCK % changed.granularity, `${what}: granularity ${changed.granularity} divides 64 KiB`).toBe(0);
  expect(normalizeRegions(changed.regions), what).toEqual(blocksOf(writes, disk, changed.granularity));
}

/** Not available (with a reason). */
export function expectUnavailable(changed: ChangedBlocks, what: string): void {
  expect(changed.available, what).toBe(false);
  if (!changed.available) expect(changed.reason.trim(), `${what}: a reason`).not.toBe("");
}

/** Whether `regions` cover every byte of `wanted`. */
export function covers(regions: readonly Region[], wanted: readonly Region[]): boolean {
  const have = normalizeRegions(regions);
  return wanted.every((w) => have.some((h) => h.offset <= w.offset && w.offset + w.length <= h.offset + h.length));
}
