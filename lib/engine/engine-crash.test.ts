// Crash tests with real worker processes (reliability-plan R1, R2, R3, R8): kill -9 at seeded random points in
// both phases, a crash between a hypervisor side effect and its database commit, a stale worker woken after
// its lease was taken over, and a scheduled switch while workers restart around its time. After each: the
// failback completes with I1 (production equals the replica), I2 (no lost write), I3 (never both running),
// I4 (legal, monotonic history; nothing written by a stale attempt) and I6 (no leftover process).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, asc, eq, gt, gte, sql } from "drizzle-orm";
import { inject } from "vitest";
import { events, failbackSteps } from "@/lib/db/schema";
import { seededRandom } from "@/lib/lab/content";
import { testDatabase } from "@/lib/testing/db";
import { Engine } from "./index";
import { stepsOf, type StepKind } from "./plans";
import { configureProviders, inProcessServices } from "./worker-main";
import {
  createTestLab,
  localTimeIn,
  sameContent,
  topFile,
  transferProgress,
  waitForItem,
  type TestLab,
} from "./testing/harness";
import {
  checkLegalHistory,
  generateReplicaWrites,
  leftoverDaemons,
  missingWrites,
  watchNeverBothRunning,
} from "./testing/invariants";
import { spawnWorker, type WorkerProcess } from "./testing/worker-process";
import type { ItemState } from "@/lib/db/schema";

const database = testDatabase();
const db = database.db;
const databaseUrl = inject("databaseUrl");
const seed = Number(process.env.FAILBACK_CRASH_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(seed);
const admin = { userId: null, label: "crash-test" };
let lab: TestLab;
let engine: Engine;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fbw-"));
const workers: WorkerProcess[] = [];
let lastKillAt = 0;
/** reliability-plan R1: at least ten kill points in each phase. */
const KILLS_PER_PHASE = 10;
const vm = (id: string, units: number[]) => ({ id, name: id, tinyGuest: false, guestAgent: false, diskUnits: units });

async function worker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = await spawnWorker({ databaseUrl, dataDir, env });
  workers.push(w);
  return w;
}

async function kill(w: WorkerProcess): Promise<void> {
  w.signal("SIGKILL");
  lastKillAt = Date.now();
  await w.exited;
}

beforeAll(async () => {
  console.log(`[crash tests] seed ${seed} (set FAILBACK_CRASH_SEED to replay)`);
  lab = await createTestLab(db, [
    vm("c-kill", [2, 2]),
    vm("c-effect", [1]),
    vm("c-stale", [4]),
    vm("c-sched", [1]),
    vm("c-range", [8]),
  ]);
  // The workers are child processes; this process pre-flights in-process, so it drives the providers too.
  configureProviders({ guestCacheDir: path.join(dataDir, "guest-cache") });
  engine = new Engine({ db: db, databaseUrl: databaseUrl, services: inProcessServices(db) });
}, 240_000);

afterAll(async () => {
  for (const w of workers) w.signal("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
  await engine?.close();
  await lab?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
  await database.close();
});

/** The steps a failback to the original VM skips (they stay in the plan, shown as skipped). */
const skippedForOriginal = new Set(
  (["phase1", "phase2"] as const).flatMap((plan) =>
    stepsOf(plan, { target: "original", quickRollback: false, powerOnAfter: true })
      .filter((step) => step.skipWhen === "not_recovered_or_new")
      .map((step) => step.kind),
  ),
);

/**
 * Kills a fresh worker `kills` times, then lets a last worker finish the phase. The kill points are spread over
 * the phase's steps (all but its last, so the phase cannot end before the last kill): kill i waits until a step
 * at least i/kills of the way through is running, then strikes at a random moment inside it — before, during or
 * after its side effect (steps are slowed down by 300 ms before theirs). Returns the kill figures.
 */
async function crashRepeatedly(itemId: string, kills: number, phase: "phase1" | "phase2", until: ItemState[]) {
  const figures: { killAfterMs: number; stateAtKill: string; stepAtKill: string; takeoverMs: number | null }[] = [];
  for (let i = 0; i < kills; i++) {
    const w = await worker({ FAILBACK_TEST_STEP_DELAY_MS: "300" });
    const [{ maxId }] = (await db.select({ maxId: sql<number>`coalesce(max(${events.id}), 0)::int` }).from(events)) as [
      { maxId: number },
    ];
    // Wait until this worker has the item (its first event), then until it runs the step this kill aims at.
    const claimedAt = await waitForEvent(itemId, maxId, 15_000);
    // Aimed only at steps that run: a skipped step is never seen running, so aiming at one would wait for the
    // step after it — the phase's last, which could end before the kill.
    const steps = await db
      .select({ seq: failbackSteps.seq, name: failbackSteps.name })
      .from(failbackSteps)
      .where(and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.phase, phase)))
      .orderBy(asc(failbackSteps.seq));
    const runs = steps.filter((step) => !skippedForOriginal.has(step.name as StepKind));
    const aim = runs[Math.floor((i * (runs.length - 1)) / kills)] as { seq: number };
    await waitForRunningStep(itemId, phase, aim.seq, 30_000);
    const delay = Math.floor(random() * 450);
    await new Promise((r) => setTimeout(r, delay));
    const [state] = (await db.execute(
      sql`select state, active_plan from failback_items where id = ${itemId}`,
    )) as unknown as { state: string; active_plan: string | null }[];
    const running = (await db.execute(
      sql`select name from failback_steps where item_id = ${itemId} and state = 'running'`,
    )) as unknown as { name: string }[];
    await kill(w);
    figures.push({
      killAfterMs: delay,
      stateAtKill: `${state?.state}/${state?.active_plan}`,
      stepAtKill: running[0]?.name ?? "-",
      takeoverMs: claimedAt.takeoverMs,
    });
    if (until.includes(state?.state as ItemState))
      throw new Error(`the phase ended after ${i + 1} of ${kills} kills: ${JSON.stringify(figures)}`);
  }
  const last = await worker();
  await waitForItem(db, itemId, until, 120_000);
  return { figures, last };
}

/** Waits until a step of `phase` at position `seq` or later is running. */
async function waitForRunningStep(
  itemId: string,
  phase: "phase1" | "phase2",
  seq: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await db
      .select({ seq: failbackSteps.seq })
      .from(failbackSteps)
      .where(
        and(
          eq(failbackSteps.itemId, itemId),
          eq(failbackSteps.phase, phase),
          eq(failbackSteps.state, "running"),
          gte(failbackSteps.seq, seq),
        ),
      )
      .limit(1);
    if (rows[0]) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no step of ${phase} at position ${seq} or later started running`);
}

async function waitForEvent(
  itemId: string,
  afterId: number,
  timeoutMs: number,
): Promise<{ takeoverMs: number | null }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await db
      .select({ type: events.type, at: events.createdAt })
      .from(events)
      .where(and(eq(events.itemId, itemId), gt(events.id, afterId)))
      .limit(1);
    if (rows[0]) return { takeoverMs: lastKillAt ? rows[0].at.getTime() - lastKillAt : null };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the worker did not take the item");
}

describe("crashes", () => {
  it("R1: kill -9 at random points in phase 1 and phase 2; the failback completes with I1–I4 and I6", async () => {
    const replicaId = lab.replicaIds["c-kill"] as string;
    const watcher = watchNeverBothRunning(lab.production, "c-kill", lab.dr, "c-kill-replica");
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 2,
    });
    const itemId = started.itemIds[0] as string;
    const phase1 = await crashRepeatedly(itemId, KILLS_PER_PHASE, "phase1", ["ready_to_switch"]);
    await kill(phase1.last);
    const writes = await generateReplicaWrites(lab.dr, "c-kill-replica", ["vda", "vdb"], 10, seed);
    await engine.switchNow(admin, started.sessionId);
    const phase2 = await crashRepeatedly(itemId, KILLS_PER_PHASE, "phase2", ["switched"]);
    expect((await watcher.stop()).bothRunning).toBe(0);
    for (const disk of ["vda", "vdb"]) {
      const compared = await sameContent(
        topFile(lab.production, "c-kill", disk),
        topFile(lab.dr, "c-kill-replica", disk),
      );
      expect(compared, compared.output).toMatchObject({ same: true });
    }
    expect(await missingWrites(lab.production, "c-kill", writes)).toEqual([]);
    await checkLegalHistory(db, itemId);
    const resumed = await db
      .select({ payload: events.payload })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "step.started")));
    const resumes = resumed.filter((e) => e.payload.resumed === true).length;
    await kill(phase2.last);
    expect(leftoverDaemons(lab.dir)).toEqual([]);
    console.log(
      `[crash tests] R1 seed ${seed}: phase 1 kills ${JSON.stringify(phase1.figures)}; phase 2 kills ${JSON.stringify(phase2.figures)}; steps resumed from a checkpoint: ${resumes}`,
    );
    expect(phase1.figures.filter((f) => f.stateAtKill.startsWith("phase1"))).toHaveLength(KILLS_PER_PHASE);
    expect(phase2.figures.filter((f) => f.stateAtKill.startsWith("switching"))).toHaveLength(KILLS_PER_PHASE);
  }, 300_000);
});

describe("a crash between a side effect and its commit", () => {
  it("R2: the effect is not repeated when the step runs again", async () => {
    const replicaId = lab.replicaIds["c-effect"] as string;
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 2,
    });
    const itemId = started.itemIds[0] as string;
    const protect1 = `fb-${started.sessionId.replace(/-/g, "").slice(0, 12)}-protect1`;
    const stepState = async (kind: string, phase: "phase1" | "phase2") =>
      (
        await db
          .select()
          .from(failbackSteps)
          .where(and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.name, kind), eq(failbackSteps.phase, phase)))
      )[0];

    // The protective snapshot exists on the replica, but the database never heard of it.
    const first = await worker({ FAILBACK_TEST_CRASH_AFTER: "create_protective_snapshot:phase1" });
    await first.exited;
    expect((await lab.dr.listSnapshots("c-effect-replica")).filter((s) => s.name === protect1)).toHaveLength(1);
    expect((await stepState("create_protective_snapshot", "phase1"))?.state).toBe("running");

    // Same for the commit of the working snapshot into production.
    const second = await worker({ FAILBACK_TEST_CRASH_AFTER: "commit_working_snapshot:phase1" });
    await second.exited;
    expect((await lab.dr.listSnapshots("c-effect-replica")).filter((s) => s.name === protect1)).toHaveLength(1);
    const third = await worker();
    await waitForItem(db, itemId, ["ready_to_switch"]);
    await kill(third);
    expect((await stepState("create_protective_snapshot", "phase1"))?.attempts).toBe(2);

    await engine.switchNow(admin, started.sessionId);
    const fourth = await worker({ FAILBACK_TEST_CRASH_AFTER: "power_on_production:phase2" });
    await fourth.exited;
    expect(await lab.production.powerState("c-effect")).toBe("running");
    const pidAfterCrash = fs.readFileSync(path.join(lab.production.site.runDir("c-effect"), "qemu.pid"), "utf8").trim();
    const fifth = await worker();
    await waitForItem(db, itemId, ["switched"]);
    await kill(fifth);
    // Powered on once: the same QEMU process, not a second boot.
    expect(fs.readFileSync(path.join(lab.production.site.runDir("c-effect"), "qemu.pid"), "utf8").trim()).toBe(
      pidAfterCrash,
    );
    expect(
      await sameContent(topFile(lab.production, "c-effect", "vda"), topFile(lab.dr, "c-effect-replica", "vda")),
    ).toMatchObject({ same: true });
    await checkLegalHistory(db, itemId);
  }, 180_000);
});

describe("a stale worker", () => {
  it("R3: stopped past its lease, then resumed after another took over, it gets no write accepted", async () => {
    const replicaId = lab.replicaIds["c-stale"] as string;
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 2,
    });
    const itemId = started.itemIds[0] as string;
    const stale = await worker({ FAILBACK_TEST_STEP_DELAY_MS: "1500" });
    const first = await waitForEvent(itemId, 0, 15_000);
    void first;
    await new Promise((r) => setTimeout(r, 2000));
    stale.signal("SIGSTOP");
    const stoppedAt = Date.now();
    const [{ maxId }] = (await db.select({ maxId: sql<number>`coalesce(max(${events.id}), 0)::int` }).from(events)) as [
      { maxId: number },
    ];
    const [staleEvent] = await db
      .select({ payload: events.payload })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "step.started")))
      .orderBy(asc(events.id))
      .limit(1);
    const staleOwner = staleEvent?.payload.worker as string;
    expect(staleOwner).toBeTruthy();

    const fresh = await worker();
    await waitForItem(db, itemId, ["ready_to_switch"], 60_000);
    const [takeover] = await db
      .select({ at: events.createdAt })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "worker.takeover")));
    expect(takeover).toBeDefined();
    const takeoverMs = (takeover?.at.getTime() ?? 0) - stoppedAt;

    stale.signal("SIGCONT");
    await new Promise((r) => setTimeout(r, 4000));
    const late = await db
      .select({ id: events.id, type: events.type })
      .from(events)
      .where(and(eq(events.itemId, itemId), gt(events.id, maxId), sql`${events.payload}->>'worker' = ${staleOwner}`));
    expect(late).toEqual([]);
    expect(stale.output()).toMatch(/no longer holds the lease/);
    await kill(stale);
    await kill(fresh);
    await checkLegalHistory(db, itemId);
    console.log(
      `[crash tests] R3: takeover ${takeoverMs} ms after the stale worker stopped; 0 writes accepted from it after SIGCONT`,
    );
  }, 120_000);
});

describe("a scheduled switch while workers restart", () => {
  it("R8: starts exactly once, within seconds of its time", async () => {
    const replicaId = lab.replicaIds["c-sched"] as string;
    const runAt = new Date(Date.now() + 14_000);
    const w1 = await worker();
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "scheduled",
      switchAt: { local: localTimeIn("Asia/Tokyo", runAt), timeZone: "Asia/Tokyo" },
      powerOnAfter: false,
      shutdownTimeoutSeconds: 2,
    });
    const itemId = started.itemIds[0] as string;
    await waitForItem(db, itemId, ["ready_to_switch"]);
    await new Promise((r) => setTimeout(r, Math.max(0, runAt.getTime() - 1500 - Date.now())));
    await kill(w1);
    await new Promise((r) => setTimeout(r, Math.max(0, runAt.getTime() + 500 - Date.now())));
    const [w2, w3] = await Promise.all([worker(), worker()]);
    await waitForItem(db, itemId, ["switched"], 60_000);
    const fired = await db
      .select()
      .from(events)
      .where(and(eq(events.sessionId, started.sessionId), eq(events.type, "schedule.started")));
    expect(fired).toHaveLength(1);
    const switches = await db
      .select({ at: events.createdAt })
      .from(events)
      .where(
        and(eq(events.itemId, itemId), eq(events.type, "item.state"), sql`${events.payload}->>'to' = 'switching'`),
      );
    expect(switches).toHaveLength(1);
    const lateMs = (switches[0]?.at.getTime() ?? 0) - runAt.getTime();
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(10_000);
    await kill(w2);
    await kill(w3);
    console.log(`[crash tests] R8: the switch started ${lateMs} ms after its time, once`);
  }, 120_000);
});

describe("a crash in the middle of a transfer", () => {
  it("R1: resumes from the last checkpoint; what it sends again is bounded by the ranges in flight", async () => {
    const replicaId = lab.replicaIds["c-range"] as string;
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: false,
    });
    const itemId = started.itemIds[0] as string;
    const rangeBytes = 4 * 1024 * 1024;
    let checkpointAtKill: { nextOffset: number } | null = null;
    for (let tries = 0; tries < 5 && !checkpointAtKill; tries++) {
      const w = await worker();
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const progress = await transferProgress(db, itemId, "vda");
        if (progress.midway) {
          await kill(w);
          checkpointAtKill = progress.sync;
          break;
        }
        if (progress.stepState === "done") break;
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!checkpointAtKill) await kill(w);
    }
    const last = await worker();
    await waitForItem(db, itemId, ["ready_to_switch"], 60_000);
    await kill(last);
    const [done] = await db
      .select({ payload: events.payload })
      .from(events)
      .where(
        and(
          eq(events.itemId, itemId),
          eq(events.type, "step.done"),
          sql`${events.payload}->>'kind' = 'transfer_changes'`,
        ),
      );
    const detail = (done?.payload.detail ?? {}) as { resumedFromBytes?: number };
    console.log(
      `[crash tests] R1 transfer: checkpoint at kill ${checkpointAtKill?.nextOffset ?? "none (the transfer finished first)"}; resumed from ${detail.resumedFromBytes} bytes; range ${rangeBytes} bytes`,
    );
    if (checkpointAtKill) {
      // Everything below the checkpoint was kept; at most the ranges in flight (2) are read and sent again.
      // (A checkpoint may land between our read and the kill: the resume point is at or just after it.)
      expect(detail.resumedFromBytes).toBeGreaterThanOrEqual(checkpointAtKill.nextOffset);
      expect(detail.resumedFromBytes).toBeLessThanOrEqual(checkpointAtKill.nextOffset + rangeBytes);
    }
    // Production after phase 1 equals the replica frozen at t1 (its failover layer, below the protective snapshot).
    const compared = await sameContent(
      topFile(lab.production, "c-range", "vda"),
      lab.dr.site.layerFile("c-range-replica", "vda", "failover"),
    );
    expect(compared, compared.output).toMatchObject({ same: true });
  }, 180_000);
});
