// R4: PostgreSQL restarts in the middle of a transfer. The test runs a PostgreSQL server of its own (the
// embedded one, so that it can stop and start it without touching the run's shared database) and two real
// worker processes. The server is stopped while phase 1's transfer is running, stays down a moment, and comes
// back; the workers must reconnect by themselves and finish the failback, with no step done twice, and I1–I6.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Database } from "@/lib/db/client";
import { startEmbeddedPostgres, type EmbeddedServer } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { auditLog, events, failbackSteps } from "@/lib/db/schema";
import { freePort } from "@/lib/testing/free-port";
import { Engine } from "./index";
import { configureProviders, inProcessServices } from "./worker-main";
import { createTestLab, sameContent, topFile, transferProgress, waitForItem, type TestLab } from "./testing/harness";
import {
  checkLegalHistory,
  generateReplicaWrites,
  leftoverDaemons,
  missingWrites,
  watchNeverBothRunning,
} from "./testing/invariants";
import { spawnWorker, type WorkerProcess } from "./testing/worker-process";

const admin = { userId: null, label: "r4-test" };
const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), "fbpg-"));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fbw-"));
let port: number;
let server: EmbeddedServer;
let database: Database;
let lab: TestLab | undefined;
let engine: Engine | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  port = await freePort();
  server = await startEmbeddedPostgres({ dir: pgDir, port, database: "failback_r4" });
  await applyMigrations(server.url);
  database = connect(server.url, { max: 4 });
  lab = await createTestLab(database.db, [
    { id: "r4-app", name: "r4-app", tinyGuest: false, guestAgent: false, diskUnits: [8] },
  ]);
  // The workers are child processes; this process pre-flights in-process, so it drives the providers too.
  configureProviders({ guestCacheDir: path.join(dataDir, "guest-cache") });
  engine = new Engine({ db: database.db, databaseUrl: server.url, services: inProcessServices(database.db) });
}, 240_000);

afterAll(async () => {
  for (const w of workers) w.signal("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
  await engine?.close().catch(() => {});
  await lab?.cleanup();
  await database?.close().catch(() => {});
  await server?.stop();
  fs.rmSync(pgDir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** transferProgress of vda, or null while the database cannot be read. */
async function transferProgressOrNull(itemId: string) {
  return transferProgress(database.db, itemId, "vda").catch(() => null);
}

describe("R4: PostgreSQL restarts mid-transfer", () => {
  it("the workers reconnect and finish the failback; no step runs twice; I1–I6 hold", async () => {
    if (!engine || !lab) throw new Error("set-up failed");
    const db = database.db;
    // Several ranges of 1 MiB, so that a checkpoint exists while the transfer still has work to do.
    const env = { FAILBACK_TRANSFER_RANGE_MIB: "1" };
    workers.push(
      await spawnWorker({ databaseUrl: server.url, dataDir, env }),
      await spawnWorker({ databaseUrl: server.url, dataDir, env }),
    );
    const alive = workers.map(() => true);
    workers.forEach((w, i) => void w.exited.then(() => (alive[i] = false)));

    const replicaId = lab.replicaIds["r4-app"] as string;
    const watcher = watchNeverBothRunning(lab.production, "r4-app", lab.dr, "r4-app-replica");
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 5,
      reason: "test: R4",
    });
    const itemId = started.itemIds[0] as string;

    // Stop the server as soon as the transfer has checkpointed part of the disk.
    let atStop: { nextOffset: number } | null = null;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const progress = await transferProgressOrNull(itemId);
      if (progress?.midway && progress.sync) {
        atStop = { nextOffset: progress.sync.nextOffset };
        break;
      }
      if (progress?.stepState === "done") break;
      await new Promise((r) => setTimeout(r, 2));
    }
    const stoppedAt = Date.now();
    await server.stop();
    await new Promise((r) => setTimeout(r, 2000));
    server = await startEmbeddedPostgres({ dir: pgDir, port, database: "failback_r4" });
    const downMs = Date.now() - stoppedAt;

    await waitForItem(db, itemId, ["ready_to_switch"], 120_000);
    const writes = await generateReplicaWrites(lab.dr, "r4-app-replica", ["vda"], 10, 4);
    await engine.switchNow(admin, started.sessionId);
    await waitForItem(db, itemId, ["switched"], 120_000);
    expect((await watcher.stop()).bothRunning).toBe(0); // I3
    const compared = await sameContent(
      topFile(lab.production, "r4-app", "vda"),
      topFile(lab.dr, "r4-app-replica", "vda"),
    );
    expect(compared, compared.output).toMatchObject({ same: true }); // I1
    expect(await missingWrites(lab.production, "r4-app", writes)).toEqual([]); // I2
    await engine.commit(admin, started.sessionId);
    await waitForItem(db, itemId, ["committed"], 60_000);

    // The workers lived through it: they reconnected rather than died.
    for (const [i, w] of workers.entries())
      expect(alive[i], `worker ${i} died:\n${w.output().slice(-3000)}`).toBe(true);
    // No step was done twice (a duplicate job would run one again), and each was done once.
    const done = await db
      .select({ stepId: sql<string>`${events.payload}->>'stepId'` })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "step.done")))
      .orderBy(asc(events.id));
    const doneIds = done.map((d) => d.stepId);
    expect(new Set(doneIds).size).toBe(doneIds.length);
    const steps = await db
      .select({ id: failbackSteps.id, state: failbackSteps.state })
      .from(failbackSteps)
      .where(eq(failbackSteps.itemId, itemId));
    expect(
      steps
        .filter((s) => s.state === "done")
        .map((s) => s.id)
        .sort(),
    ).toEqual([...doneIds].sort());
    await checkLegalHistory(db, itemId); // I4
    const audit = await db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.targetId, started.sessionId));
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(["failback.start", "failback.switch_now", "failback.commit"]),
    ); // I5
    expect(leftoverDaemons(lab.dir)).toEqual([]); // I6

    const retried = await db
      .select({ payload: events.payload })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "step.failed")));
    const takeovers = await db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "worker.takeover")));
    const [transferDone] = await db
      .select({ payload: events.payload })
      .from(events)
      .where(
        and(
          eq(events.itemId, itemId),
          eq(events.type, "step.done"),
          sql`${events.payload}->>'kind' = 'transfer_changes'`,
        ),
      );
    const resumedFrom = (transferDone?.payload.detail as { resumedFromBytes?: number } | undefined)?.resumedFromBytes;
    console.log(
      `[R4] server stopped ${atStop ? `mid-transfer (vda checkpoint at ${atStop.nextOffset} bytes)` : "after the transfer had finished"}; down ${downMs} ms; ` +
        `takeovers ${takeovers.length}; transfer resumed from ${resumedFrom ?? "?"} bytes; ` +
        `steps failed and retried: ${retried.map((r) => `${String(r.payload.kind)} (${String(r.payload.error ?? "").slice(0, 80)})`).join("; ") || "none"}`,
    );
    expect(atStop, "the transfer finished before the server could be stopped").not.toBeNull();
  }, 300_000);
});
