// A small lab of its own for each engine test file: one or two replicated, failed-over VMs with 16 MiB disks
// (real QEMU, real qcow2), the run's database, and helpers to wait for states and judge the invariants.
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import {
  events,
  failbackItems,
  failbackSessions,
  failbackSteps,
  hosts,
  replicas,
  sites,
  vms,
  type ItemState,
} from "@/lib/db/schema";
import { formatInZone } from "@/components/ui/zoned-time";
import { upsertDisk, upsertVm } from "@/lib/db/queries/estate";
import { createLab } from "@/lib/lab/create-lab";
import { labSites, replicaVmId, type LabVm } from "@/lib/lab/estate";
import { stopProcessesMentioning } from "@/lib/providers/qemu/processes";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import type { EngineSettings } from "../settings";

const execFileAsync = promisify(execFile);

export const testGuestCacheDir = () =>
  process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");

export function testEngineSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
  return {
    leaseMs: 3000,
    stepAttempts: 2,
    retryDelayMs: 200,
    concurrency: 2,
    pollSeconds: 0.5,
    guestCacheDir: testGuestCacheDir(),
    rangeBytes: 2 * 1024 * 1024,
    // Off: a background estimate reading a VM's disks while a test starts its failback would only add noise.
    estimateEveryMs: 0,
    ...overrides,
  };
}

export interface TestLab {
  dir: string;
  production: QemuProvider;
  dr: QemuProvider;
  siteNames: { production: string; dr: string };
  /** replica id (inventory) by lab VM id. */
  replicaIds: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function createTestLab(db: Db, vmsToBuild: LabVm[]): Promise<TestLab> {
  const tag = crypto.randomBytes(3).toString("hex");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fbe-"));
  const siteNames = { production: `Production ${tag}`, dr: `DR ${tag}` };
  await createLab({ db, labDir: dir, guestCacheDir: testGuestCacheDir(), size: "small", vms: vmsToBuild, siteNames });
  const production = new QemuProvider({
    siteDir: path.join(dir, labSites.production.folder),
    guestCacheDir: testGuestCacheDir(),
  });
  const dr = new QemuProvider({ siteDir: path.join(dir, labSites.dr.folder), guestCacheDir: testGuestCacheDir() });
  const replicaIds: Record<string, string> = {};
  const rows = await db
    .select({ id: replicas.id, ext: vms.externalId })
    .from(replicas)
    .innerJoin(vms, eq(vms.id, replicas.replicaVmId))
    .innerJoin(hosts, eq(hosts.id, vms.hostId))
    .innerJoin(sites, eq(sites.id, hosts.siteId))
    .where(eq(sites.name, siteNames.dr));
  for (const vm of vmsToBuild) {
    const row = rows.find((r) => r.ext === replicaVmId(vm.id));
    if (!row) throw new Error(`the test lab has no replica of ${vm.id}`);
    replicaIds[vm.id] = row.id;
  }
  return {
    dir,
    production,
    dr,
    siteNames,
    replicaIds,
    cleanup: async () => {
      await stopProcessesMentioning(dir, 0);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the item is in one of `states` (or fails fast if it lands in needs_attention unexpectedly). */
export async function waitForItem(
  db: Db,
  itemId: string,
  states: ItemState[],
  timeoutMs = 90_000,
): Promise<typeof failbackItems.$inferSelect> {
  const deadline = Date.now() + timeoutMs;
  let last: typeof failbackItems.$inferSelect | undefined;
  while (Date.now() < deadline) {
    [last] = await db.select().from(failbackItems).where(eq(failbackItems.id, itemId));
    if (last && states.includes(last.state)) return last;
    if (last?.state === "needs_attention" && !states.includes("needs_attention")) {
      throw new Error(`item ${itemId} needs attention: ${last.attentionReason}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `item ${itemId} did not reach ${states.join("/")} within ${timeoutMs} ms (it is ${last?.state}, plan ${last?.activePlan})`,
  );
}

export async function sessionState(db: Db, sessionId: string): Promise<ItemState | undefined> {
  const [row] = await db
    .select({ state: failbackSessions.state })
    .from(failbackSessions)
    .where(eq(failbackSessions.id, sessionId));
  return row?.state;
}

export async function eventTypes(db: Db, sessionId: string, itemId?: string): Promise<string[]> {
  const rows = await db
    .select({ type: events.type })
    .from(events)
    .where(itemId ? and(eq(events.sessionId, sessionId), eq(events.itemId, itemId)) : eq(events.sessionId, sessionId))
    .orderBy(asc(events.id));
  return rows.map((r) => r.type);
}

/**
 * Where phase 1's transfer of one disk stands: the step's state and the disk's checkpoint (`sync.nextOffset`:
 * everything below it is written and read back). `midway` is a running transfer with part of the disk done.
 */
export async function transferProgress(db: Db, itemId: string, disk: string) {
  const [step] = await db
    .select()
    .from(failbackSteps)
    .where(and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.name, "transfer_changes")));
  const state = (
    step?.checkpoint as { disks?: Record<string, { sync: { nextOffset: number } | null; done: boolean }> } | null
  )?.disks?.[disk];
  const sync = state?.sync ?? null;
  return { stepState: step?.state, sync, midway: step?.state === "running" && sync !== null && !state?.done };
}

/** I1: `qemu-img compare` of two qcow2 chains (their top files), force-shared so a running VM's files work too. */
export async function sameContent(fileA: string, fileB: string): Promise<{ same: boolean; output: string }> {
  try {
    const { stdout } = await execFileAsync("qemu-img", ["compare", "-U", "-f", "qcow2", "-F", "qcow2", fileA, fileB]);
    return { same: true, output: stdout.trim() };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (e.code === 1) return { same: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() };
    throw new Error(`qemu-img compare failed: ${e.stderr ?? e.stdout}`);
  }
}

/** The top file of a VM's disk chain. */
export function topFile(provider: QemuProvider, vmId: string, disk: string): string {
  return provider.site.chainFiles(vmId, disk).at(-1) as string;
}

/** A VM "already recovered elsewhere" (e.g. restored from backup) on the production host: empty disks like the replica's. */
export async function addRecoveredVm(db: Db, lab: TestLab, like: string, id: string): Promise<string> {
  const source = await lab.production.getVm(like);
  const vm = await lab.production.createVm(id, {
    name: id,
    cpus: source.cpus,
    memoryMib: source.memoryMib,
    guestAgent: false,
    guest: "none",
    disks: source.disks.map((d) => ({ label: d.label, sizeBytes: d.sizeBytes })),
  });
  const row = await upsertVm(db, {
    hostId: await productionHostId(db, lab),
    externalId: vm.id,
    name: vm.name,
    cpus: vm.cpus,
    memoryMib: vm.memoryMib,
    guestAgent: vm.guestAgent,
    config: vm.config,
  });
  for (const disk of vm.disks)
    await upsertDisk(db, { vmId: row.id, label: disk.label, sizeBytes: disk.sizeBytes, locator: disk.locator });
  return row.id;
}

export async function productionHostId(db: Db, lab: TestLab): Promise<string> {
  const [host] = await db
    .select({ id: hosts.id })
    .from(hosts)
    .innerJoin(sites, eq(sites.id, hosts.siteId))
    .where(eq(sites.name, lab.siteNames.production));
  if (!host) throw new Error("the test lab has no production host");
  return host.id;
}

/** A qcow2 copy of a disk's whole chain as it is now (to prove later that it did not change). */
export async function snapshotCopy(file: string, into: string): Promise<string> {
  await execFileAsync("qemu-img", ["convert", "-U", "-f", "qcow2", "-O", "qcow2", file, into]);
  return into;
}

/** A gate a test holds a step at: `reached` resolves when the step arrives, `release()` lets it go on. */
export function stepGate(kind: string) {
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const released = new Promise<void>((r) => (release = r));
  let armed = true;
  return {
    reached,
    release,
    hook: async (step: string) => {
      if (!armed || step !== kind) return;
      armed = false;
      reach();
      await released;
    },
  };
}

/** The wall-clock time of `instant` in `timeZone`, as the wizard sends it (YYYY-MM-DDTHH:mm:ss). */
export function localTimeIn(timeZone: string, instant: Date): string {
  return formatInZone(instant, timeZone, true).replace(" ", "T");
}
