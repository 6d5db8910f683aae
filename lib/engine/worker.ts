// A worker: runs items from the job queue with bounded concurrency, fires due switch schedules, and sweeps for
// work whose job was lost (a crash between a commit and its send) or whose worker died (an expired lease).
// Any number of workers may run, in the product's process or as `npm run worker`, on any machine.
import { describeError } from "@/lib/errors";
import os from "node:os";
import crypto from "node:crypto";
import { and, eq, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { failbackItems, failbackSessions, switchSchedules } from "@/lib/db/schema";
import { pruneSignInAttempts } from "@/lib/auth/rate-limit";
import { flushAnonymousDenials } from "@/lib/db/queries/anonymous-denials";
import { pruneAuthSessions } from "@/lib/db/queries/auth-sessions";
import { appendEvent } from "@/lib/events/events";
import { JobQueue } from "@/lib/queue/queue";
import { serveWorkerRequests } from "@/lib/worker-requests/serve";
import { fireSchedule } from "./commands/fire-schedule";
import { refreshEstimates } from "./estimate";
import { loadVmOnHost } from "./context";
import { collectPreflightFacts } from "./preflight/collect-facts";
import { configureProviders } from "./providers";
import { runItem, type RunnerDeps } from "./runner";
import type { EngineSettings } from "./settings";
// Marks this module family for the web bundle check (a side effect a bundler keeps).
import "./worker-sentinel";

const ESTIMATE_EVERY_MS = 15_000;
const ESTIMATE_MAX_AGE_MS = 60_000;

export interface WorkerOptions {
  db: Db;
  databaseUrl: string;
  settings: EngineSettings;
  afterEffect?: RunnerDeps["afterEffect"];
  beforeStep?: RunnerDeps["beforeStep"];
  log?: (line: string) => void;
}

export interface Worker {
  owner: string;
  /** Looks for lost work and due schedules now (the sweep also runs on its own timer). */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { db, settings } = options;
  const log = options.log ?? ((line: string) => console.log(`[worker] ${line}`));
  const owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString("hex")}`;
  // The hypervisors are driven from here, and only from workers: the providers learn their settings once.
  configureProviders({ guestCacheDir: settings.guestCacheDir });
  const queue = new JobQueue({ databaseUrl: options.databaseUrl, pollSeconds: settings.pollSeconds });
  await queue.start();
  await reconcileHypervisors(db, log);
  // Questions of the web tier, which never drives a hypervisor itself.
  const requests = await serveWorkerRequests({
    databaseUrl: options.databaseUrl,
    owner,
    log,
    handlers: { "preflight.facts": ({ items }) => collectPreflightFacts(db, items) },
  });

  const running = new Set<string>();
  const deps: RunnerDeps = { db, settings, owner, afterEffect: options.afterEffect, beforeStep: options.beforeStep };
  const work = async (itemId: string) => {
    if (running.has(itemId)) return;
    running.add(itemId);
    try {
      await runItem(deps, itemId);
    } catch (err) {
      log(`item ${itemId}: ${describeError(err, { withStack: true })}`);
    } finally {
      running.delete(itemId);
    }
  };

  await queue.workItems(settings.concurrency, (job) => work(job.itemId));
  /** Starts the schedule's switch (at most once, whoever asks) and sends its items to the workers. */
  const fire = async (scheduleId: string) => {
    const fired = await fireSchedule(db, scheduleId);
    for (const itemId of fired?.itemIds ?? []) await queue.sendItem(itemId);
  };
  await queue.workSchedules((job) => fire(job.scheduleId));

  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const due = await db
        .select({ id: switchSchedules.id })
        .from(switchSchedules)
        .where(and(eq(switchSchedules.state, "pending"), lt(switchSchedules.runAt, sql`now()`)));
      for (const schedule of due) await fire(schedule.id);
      // Anonymous refusals of a finished minute reach the audit log even when no request follows them.
      await flushAnonymousDenials(db);
      for (const id of await itemsNeedingWork(db)) if (!running.has(id)) await queue.sendItem(id);
    } catch (err) {
      log(`sweep: ${describeError(err)}`);
    } finally {
      sweeping = false;
    }
  };
  // Estimates of what failbacks would move, for the replicas page: refreshed a few at a time, in the background.
  let estimating = false;
  const estimate = async () => {
    if (estimating) return;
    estimating = true;
    await refreshEstimates(db, { maxAgeMs: ESTIMATE_MAX_AGE_MS, limit: 10 })
      .catch((err: unknown) => log(`estimates: ${describeError(err)}`))
      .finally(() => (estimating = false));
  };
  // Old records that can never count again: sign-in attempts past every throttle window, ended sign-ins.
  const prune = async () => {
    const dayAgo = new Date(Date.now() - 24 * 3600_000);
    await pruneSignInAttempts(db, dayAgo).catch((err: unknown) => log(`prune: ${describeError(err)}`));
    await pruneAuthSessions(db, dayAgo).catch((err: unknown) => log(`prune: ${describeError(err)}`));
  };
  const pruneTimer = setInterval(() => void prune(), 3600_000);
  void prune();
  const estimateEvery = settings.estimateEveryMs ?? ESTIMATE_EVERY_MS;
  const estimateTimer = estimateEvery > 0 ? setInterval(() => void estimate(), estimateEvery) : undefined;
  if (estimateEvery > 0) void estimate();

  await sweep();
  const sweepEvery = Math.max(500, Math.min(settings.pollSeconds * 2000, settings.leaseMs / 2));
  const timer = setInterval(() => void sweep(), sweepEvery);
  log(`worker ${owner} started (concurrency ${settings.concurrency}, lease ${settings.leaseMs / 1000} s)`);

  return {
    owner,
    sweep,
    stop: async () => {
      clearInterval(timer);
      clearInterval(estimateTimer);
      clearInterval(pruneTimer);
      await requests.stop();
      await queue.stop();
    },
  };
}

/** Items with work to do and no live lease: not finished, not waiting for an operator, and runnable now. */
export async function itemsNeedingWork(db: Db): Promise<string[]> {
  const rows = await db
    .select({ id: failbackItems.id })
    .from(failbackItems)
    .innerJoin(failbackSessions, eq(failbackSessions.id, failbackItems.sessionId))
    .where(
      and(
        notInArray(failbackItems.state, ["committed", "undone", "cancelled", "needs_attention"]),
        or(
          isNull(failbackItems.leaseOwner),
          isNull(failbackItems.leaseExpiresAt),
          lt(failbackItems.leaseExpiresAt, sql`now()`),
        ),
        or(
          sql`${failbackItems.activePlan} is not null`,
          eq(failbackItems.state, "pending"),
          and(
            eq(failbackItems.state, "ready_to_switch"),
            or(eq(failbackItems.switchRequested, true), eq(failbackSessions.switchMode, "auto")),
          ),
        ),
      ),
    );
  return rows.map((r) => r.id);
}

/**
 * Start-up reconciliation: every VM of a live failback is brought back in line with what the database and the
 * provider's own records say (half-made or half-removed snapshots finished or cleaned, never duplicated).
 */
async function reconcileHypervisors(db: Db, log: (line: string) => void): Promise<void> {
  const live = await db
    .select({
      id: failbackItems.id,
      sessionId: failbackItems.sessionId,
      replicaVmId: sql<string>`(select replica_vm_id from replicas where id = ${failbackItems.replicaId})`,
      targetVmId: failbackItems.targetVmId,
    })
    .from(failbackItems)
    .where(notInArray(failbackItems.state, ["committed", "undone", "cancelled"]));
  for (const item of live) {
    for (const vmId of [item.replicaVmId, item.targetVmId]) {
      if (!vmId) continue;
      try {
        const vm = await loadVmOnHost(db, vmId);
        const report = await vm.provider.reconcile?.(vm.ext);
        if (report && (report.actions.length || report.problems.length)) {
          log(`reconciled ${vm.vm.name}: ${[...report.actions, ...report.problems].join("; ")}`);
          await db.transaction((tx) =>
            appendEvent(tx, {
              sessionId: item.sessionId,
              itemId: item.id,
              type: "reconcile",
              level: report.problems.length ? "warning" : "info",
              payload: { vm: vm.vm.name, actions: report.actions, problems: report.problems },
            }),
          );
        }
      } catch (err) {
        log(`reconcile ${vmId}: ${describeError(err)}`);
      }
    }
  }
}
