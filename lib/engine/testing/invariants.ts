// The invariants of reliability-plan.md as test helpers: writes made on the running replica (I2), a watcher
// that samples both VMs' power states throughout a test (I3), a legal history (I4) and no leftover daemon (I6).
import fs from "node:fs";
import { and, asc, eq } from "drizzle-orm";
import { expect } from "vitest";
import type { Db } from "@/lib/db/client";
import { events, failbackSteps, type ItemState } from "@/lib/db/schema";
import { processesMentioning } from "@/lib/providers/qemu/processes";
import { hasPattern } from "@/lib/providers/qemu/testing/vms";
import type { QemuProvider } from "@/lib/providers/qemu/provider";
import type { Provider } from "@/lib/providers/types";
import { seededRandom } from "@/lib/lab/content";
import { itemStateAfter, type EngineEvent } from "../transitions";
import { topFile } from "./harness";

export interface RecordedWrite {
  disk: string;
  offset: number;
  length: number;
  pattern: number;
}

/** What can write through a running VM's own block backend (both providers, for the lab and tests). */
export interface LiveDiskWriter {
  writePatternThroughRunningVm(
    vmId: string,
    disk: string,
    offset: number,
    length: number,
    pattern: number,
  ): Promise<void>;
}

/** Writes through the running replica (its own block layer), as users would, and remembers each one. */
export async function generateReplicaWrites(
  dr: LiveDiskWriter,
  replicaVmId: string,
  disks: string[],
  count: number,
  seed: number,
): Promise<RecordedWrite[]> {
  const random = seededRandom(seed);
  const writes: RecordedWrite[] = [];
  const block = 64 * 1024;
  for (let i = 0; i < count; i++) {
    const disk = disks[i % disks.length] as string;
    const offset = Math.floor(random() * 200) * block;
    const pattern = 0x40 + Math.floor(random() * 150);
    await dr.writePatternThroughRunningVm(replicaVmId, disk, offset, block, pattern);
    writes.push({ disk, offset, length: block, pattern });
  }
  return writes;
}

/** I2: the last write to each place is on production. Returns the writes that are missing. */
export function missingWrites(
  production: QemuProvider,
  vmId: string,
  writes: RecordedWrite[],
): Promise<RecordedWrite[]> {
  return missingWritesIn((disk) => topFile(production, vmId, disk), writes);
}

/** I2 for any provider: `topFileOf` names the production disk's top image file. */
export async function missingWritesIn(
  topFileOf: (disk: string) => string | Promise<string>,
  writes: RecordedWrite[],
): Promise<RecordedWrite[]> {
  const last = new Map<string, RecordedWrite>();
  for (const w of writes) last.set(`${w.disk}:${w.offset}`, w);
  const missing: RecordedWrite[] = [];
  for (const w of last.values()) {
    if (!(await hasPattern(await topFileOf(w.disk), w.pattern, w.offset, w.length))) missing.push(w);
  }
  return missing;
}

/** I3: samples both power states every 100 ms; `stop()` says whether they were ever both running. */
export function watchNeverBothRunning(
  production: Pick<Provider, "powerState">,
  productionVmId: string,
  dr: Pick<Provider, "powerState">,
  replicaVmId: string,
) {
  let bothRunning = 0;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [p, r] = await Promise.all([
        production.powerState(productionVmId).catch(() => "off"),
        dr.powerState(replicaVmId).catch(() => "off"),
      ]);
      samples++;
      if (p === "running" && r === "running") bothRunning++;
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { bothRunning, samples };
    },
  };
}

/** I4: the item's recorded state changes form a legal path of the state machine, in order; no step is left mid-way. */
export async function checkLegalHistory(db: Db, itemId: string): Promise<void> {
  const rows = await db
    .select({ payload: events.payload })
    .from(events)
    .where(and(eq(events.itemId, itemId), eq(events.type, "item.state")))
    .orderBy(asc(events.id));
  const eventFor: Record<string, EngineEvent> = {
    "pending>phase1": "phase1_started",
    "phase1>ready_to_switch": "phase1_done",
    "ready_to_switch>switching": "switch_started",
    "switching>switched": "switch_done",
    "switched>committed": "commit_done",
  };
  for (const { payload } of rows) {
    const from = payload.from as ItemState;
    const to = payload.to as ItemState;
    const event = eventFor[`${from}>${to}`];
    expect(event, `${from} → ${to} is not a move of this run`).toBeDefined();
    expect(itemStateAfter(from, event as EngineEvent)).toBe(to);
  }
  const steps = await db.select().from(failbackSteps).where(eq(failbackSteps.itemId, itemId));
  expect(steps.filter((s) => s.state === "running" || s.state === "failed")).toEqual([]);
}

/** I6: the block-access daemons still running for a lab (none, once a failback has settled). */
export function leftoverDaemons(labDir: string): number[] {
  return processesMentioning(labDir).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("qemu-storage-daemon");
    } catch {
      return false;
    }
  });
}
