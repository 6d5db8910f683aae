// One engine test file's whole setup: its own small lab, the engine API, and an in-process worker with the
// test settings — and the teardown that stops them all and removes the lab.
import { inject } from "vitest";
import type { Database } from "@/lib/db/client";
import type { LabVm } from "@/lib/lab/estate";
import { Engine } from "../index";
import { inProcessServices, startWorker, type EngineSettings, type Worker, type WorkerOptions } from "../worker-main";
import { createTestLab, testEngineSettings, type TestLab } from "./harness";

export interface TestEngine<Lab = TestLab> {
  lab: Lab;
  engine: Engine;
  worker: Worker;
  settings: EngineSettings;
  /** Stops the worker and the engine, removes the lab, closes the database. */
  close(): Promise<void>;
}

export async function startTestEngine(
  database: Database,
  vms: LabVm[],
  options: { beforeStep?: WorkerOptions["beforeStep"] } = {},
): Promise<TestEngine> {
  return startEngineOn(database, await createTestLab(database.db, vms), options);
}

/** The engine API and an in-process worker with the test settings on a lab already built (of either provider). */
export async function startEngineOn<Lab extends { cleanup(): Promise<void> }>(
  database: Database,
  lab: Lab,
  options: { beforeStep?: WorkerOptions["beforeStep"] } = {},
): Promise<TestEngine<Lab>> {
  const settings = testEngineSettings();
  const engine = new Engine({
    db: database.db,
    databaseUrl: inject("databaseUrl"),
    services: inProcessServices(database.db),
  });
  let worker: Worker | undefined;
  const close = async () => {
    try {
      await worker?.stop();
      await engine.close();
    } finally {
      await lab.cleanup();
      await database.close();
    }
  };
  try {
    worker = await startWorker({
      db: database.db,
      databaseUrl: inject("databaseUrl"),
      settings,
      log: () => {},
      beforeStep: options.beforeStep,
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { lab, engine, worker, settings, close };
}
