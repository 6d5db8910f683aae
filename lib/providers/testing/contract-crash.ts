// Contract cases: reconcile, and kill -9 of the process that runs a snapshot operation at a sweep of moments.
// After each kill: reconcile reports no problems, the operation re-run in this process succeeds, and the VM ends
// exactly as an uninterrupted run leaves it (snapshot list, power state, disk bytes); a second reconcile is clean.
import { afterAll, describe, expect } from "vitest";
import type { Provider } from "../types";
import {
  applyWrites,
  BLOCK,
  cloneModel,
  type ContractContext,
  type ContextGetter,
  contractCase,
  type DiskModel,
  emptyModel,
  expectDisks,
  isTypedProviderError,
  MiB,
  plainVm,
  twoDisks,
  type Write,
  writeRunning,
  writeSnapshot,
  writeTop,
} from "./contract-helpers";
import { OperationProcessPool } from "./operation-process";
import { describeOperation, type ProviderOperation, runOperation } from "./operations";

/**
 * Each operation first runs to its end (round 0), which measures how long it takes here; round r of n then kills
 * it at r/(n+1) of that time, so the kills land in every phase whatever the machine's or the hypervisor's speed.
 */
class KillPlan {
  private readonly durations = new Map<string, number>();

  constructor(private readonly kills: number) {}

  get rounds(): number {
    return this.kills + 1;
  }

  /** null: let it run to its end. */
  delay(round: number, operation: ProviderOperation): number | null {
    if (round === 0) return null;
    const measured = this.durations.get(operation.op);
    if (measured === undefined) throw new Error(`no uninterrupted run of ${operation.op} yet`);
    return Math.round((round / (this.kills + 1)) * measured);
  }

  measured(operation: ProviderOperation, afterMs: number): void {
    if (!this.durations.has(operation.op)) this.durations.set(operation.op, afterMs);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const bothDisks = twoDisks.map((d) => d.label).sort();

interface SweepRow {
  waitedForChildMs: number;
  totalMs: number;
  operation: string;
  killAfterMs: number | null;
  ended: string;
  afterMs: number;
  reconcileActions: string[];
  transientRetries: number;
  /** The last transient refusal of the re-run. */
  retriedOn: string;
}

const reconcileOf = (provider: Provider) => {
  const reconcile = provider.reconcile?.bind(provider);
  if (!reconcile) throw new Error("the provider has no reconcile()");
  return reconcile;
};

const sortedSnapshots = async (ctx: ContractContext, vmId: string) =>
  (await ctx.provider.listSnapshots(vmId)).map((s) => ({ ...s, disks: [...s.disks].sort() }));

/** One sweep: a child process per operation, a plan of kill moments, and a log of what happened. */
class Sweep {
  readonly rows: SweepRow[] = [];
  private readonly plan: KillPlan;
  private readonly started = Date.now();

  constructor(
    private readonly ctx: ContractContext,
    private readonly pool: OperationProcessPool,
    private readonly title: string,
    kills: number,
  ) {
    this.plan = new KillPlan(kills);
  }

  get rounds(): number {
    return this.plan.rounds;
  }

  /**
   * Runs the operation in a child and kills it at this round's moment; then reconcile (no problems), the
   * engine's re-run in this process, and a second reconcile that finds nothing left to do.
   */
  async interrupted(round: number, operation: ProviderOperation, options: { settle?: boolean } = {}): Promise<void> {
    const killAfterMs = this.plan.delay(round, operation);
    const what = `${describeOperation(operation)} killed after ${killAfterMs ?? "never"} ms`;
    const waitStarted = Date.now();
    const child = await this.pool.next();
    const waitedForChildMs = Date.now() - waitStarted;
    const outcome = await child.run(operation, killAfterMs);
    if (outcome.ended === "failed") throw new Error(`${what}: the child's operation failed:\n${outcome.output}`);
    if (killAfterMs === null) {
      expect(outcome.ended, `${what}: ${outcome.output}`).toBe("done");
      this.plan.measured(operation, outcome.afterMs);
    }
    const reconcile = reconcileOf(this.ctx.provider);
    const report = await reconcile(operation.vmId);
    expect(report.problems, `${what}: reconcile problems`).toEqual([]);
    // The engine's retry: the same call again. A transient refusal is retried, as the engine does. Seen with qemu:
    // SIGKILL ends the Node process only, so a `qemu-img create` it had started lives on for 10–40 ms holding the
    // .tmp overlay's write lock, and the re-run's own create of that file fails with busy until it exits.
    let transientRetries = 0;
    let retriedOn = "";
    for (;;) {
      try {
        await runOperation(this.ctx.provider, operation);
        break;
      } catch (err) {
        if (!isTypedProviderError(err) || !err.transient || transientRetries >= 40) throw err;
        transientRetries++;
        retriedOn = `${err.kind}: ${err.message}`;
        await sleep(250);
      }
    }
    if (options.settle !== false) await this.expectSettled(operation.vmId, what);
    this.rows.push({
      waitedForChildMs,
      totalMs: Date.now() - waitStarted,
      operation: operation.op,
      killAfterMs,
      ended: outcome.ended,
      afterMs: outcome.afterMs,
      reconcileActions: report.actions,
      transientRetries,
      retriedOn,
    });
  }

  /** A second reconcile finds nothing left to do. */
  async expectSettled(vmId: string, what: string): Promise<void> {
    expect(await reconcileOf(this.ctx.provider)(vmId), `${what}: a second reconcile`).toEqual({
      actions: [],
      problems: [],
    });
  }

  finish(timingKey: string): void {
    this.ctx.timings[timingKey] = Date.now() - this.started;
    const lines = this.rows.map(
      (r) =>
        `  ${r.operation.padEnd(32)} kill@${String(r.killAfterMs ?? "never").padEnd(5)} ${r.ended.padEnd(6)} ` +
        `${String(r.afterMs).padStart(4)} ms  retries ${r.transientRetries}${r.retriedOn ? ` (${r.retriedOn})` : ""} wait ${r.waitedForChildMs} total ${r.totalMs}  ${r.reconcileActions.join(" | ") || "-"}`,
    );
    console.log(`[contract ${this.ctx.subject.name}] ${this.title}\n${lines.join("\n")}`);
  }
}

export function registerCrashCases(get: ContextGetter): void {
  describe("reconcile and crashes", () => {
    let pool: OperationProcessPool | null = null;
    const poolOf = (ctx: ContractContext) => (pool ??= new OperationProcessPool(ctx.subject.spawnSpec));
    afterAll(async () => {
      await pool?.dispose();
    });

    contractCase(get, "reconcile of a clean VM finds nothing to do", async (ctx) => {
      poolOf(ctx); // the sweeps' first child processes start up meanwhile
      const vm = await ctx.subject.createVm(ctx.name("reconcile"), plainVm());
      const reconcile = reconcileOf(ctx.provider);
      expect((await reconcile(vm.id)).problems).toEqual([]);
      expect(await reconcile(vm.id)).toEqual({ actions: [], problems: [] });
      await ctx.provider.ensureSnapshot(vm.id, "fb-ct-clean", "working");
      await ctx.provider.powerOn(vm.id);
      expect(await reconcile(vm.id)).toEqual({ actions: [], problems: [] });
      expect(await ctx.provider.powerState(vm.id)).toBe("running");
      await ctx.provider.powerOff(vm.id);
      expect(await reconcile(vm.id)).toEqual({ actions: [], problems: [] });
      expect((await ctx.provider.listSnapshots(vm.id)).map((s) => s.name)).toEqual(["fb-ct-clean"]);
    });

    contractCase(
      get,
      "kill -9 during ensure / commit / discard of a working snapshot (VM off) converges",
      async (ctx) => {
        const sweep = new Sweep(ctx, poolOf(ctx), "kill -9 sweep, VM off", 4);
        const vm = await ctx.subject.createVm(ctx.name("kill-off"), plainVm());
        const seed: Write[] = [{ disk: "vda", offset: 0, length: 2 * MiB, pattern: 0x10 }];
        await writeTop(ctx, vm.id, seed);
        let model: DiskModel = applyWrites(emptyModel(twoDisks), seed);
        for (let round = 0; round < sweep.rounds; round++) {
          const work = `fb-ct-kw${round}`;
          // Reconcile is asked once more at the end of the round (not after each operation: time).
          await sweep.interrupted(
            round,
            { op: "ensureSnapshot", vmId: vm.id, name: work, kind: "working" },
            { settle: false },
          );
          expect(await sortedSnapshots(ctx, vm.id)).toEqual([{ name: work, kind: "working", disks: bothDisks }]);

          const delta: Write[] = [
            { disk: "vda", offset: round * 8 * BLOCK, length: 8 * BLOCK, pattern: 0x80 + round },
            { disk: "vdb", offset: round * BLOCK, length: BLOCK, pattern: 0x90 + round },
          ];
          await writeSnapshot(ctx, vm.id, work, delta);
          model = applyWrites(cloneModel(model), delta);
          await sweep.interrupted(
            round,
            { op: "removeSnapshotKeepingChanges", vmId: vm.id, name: work },
            { settle: false },
          );
          expect(await ctx.provider.listSnapshots(vm.id)).toEqual([]);

          const dropped = `fb-ct-kd${round}`;
          await ctx.provider.ensureSnapshot(vm.id, dropped, "working");
          await writeSnapshot(ctx, vm.id, dropped, [{ disk: "vda", offset: 0, length: MiB, pattern: 0xa0 + round }]);
          await sweep.interrupted(round, { op: "removeSnapshotDiscardingChanges", vmId: vm.id, name: dropped });
          expect(await ctx.provider.listSnapshots(vm.id)).toEqual([]);
          // One read per round: it shows a lost commit as well as a discard that kept anything.
          await expectDisks(ctx, vm.id, model, { what: `after committing ${work} and discarding ${dropped}` });
        }
        expect(await ctx.provider.powerState(vm.id)).toBe("off");
        sweep.finish("killSweepOffMs");
      },
      120_000,
    );

    contractCase(
      get,
      "kill -9 during a live protective snapshot converges",
      async (ctx) => {
        const sweep = new Sweep(ctx, poolOf(ctx), "kill -9 sweep, live ensureSnapshot", 4);
        const vm = await ctx.subject.createVm(ctx.name("kill-live-snap"), plainVm());
        const seed: Write[] = [{ disk: "vda", offset: 0, length: 2 * MiB, pattern: 0x20 }];
        await writeTop(ctx, vm.id, seed);
        let model: DiskModel = applyWrites(emptyModel(twoDisks), seed);
        await ctx.provider.powerOn(vm.id);
        for (let round = 0; round < sweep.rounds; round++) {
          const protect = `fb-ct-kp${round}`;
          await sweep.interrupted(round, { op: "ensureSnapshot", vmId: vm.id, name: protect, kind: "protective" });
          expect(await ctx.provider.powerState(vm.id)).toBe("running");
          expect(await sortedSnapshots(ctx, vm.id)).toEqual([{ name: protect, kind: "protective", disks: bothDisks }]);
          // The VM writes into the new layer; the view below it stays frozen.
          const delta: Write[] = [
            { disk: "vda", offset: 3 * MiB + round * 4 * BLOCK, length: 4 * BLOCK, pattern: 0xb0 + round },
            { disk: "vdb", offset: round * BLOCK, length: BLOCK, pattern: 0xc0 + round },
          ];
          await writeRunning(ctx, vm.id, delta);
          await expectDisks(ctx, vm.id, model, { at: protect, what: `below ${protect}` });
          model = applyWrites(cloneModel(model), delta);
          await ctx.provider.removeSnapshotKeepingChanges(vm.id, protect);
        }
        await ctx.provider.powerOff(vm.id);
        await expectDisks(ctx, vm.id, model, { what: "after every round" });
        sweep.finish("killSweepLiveSnapshotMs");
      },
      120_000,
    );

    contractCase(
      get,
      "kill -9 during a live merge of a protective snapshot converges",
      async (ctx) => {
        const sweep = new Sweep(ctx, poolOf(ctx), "kill -9 sweep, live merge", 8);
        const vm = await ctx.subject.createVm(ctx.name("kill-live-merge"), plainVm());
        const seed: Write[] = [{ disk: "vda", offset: 0, length: 2 * MiB, pattern: 0x30 }];
        await writeTop(ctx, vm.id, seed);
        let model: DiskModel = applyWrites(emptyModel(twoDisks), seed);
        await ctx.provider.powerOn(vm.id);
        for (let round = 0; round < sweep.rounds; round++) {
          const protect = `fb-ct-km${round}`;
          await ctx.provider.ensureSnapshot(vm.id, protect, "protective");
          const delta: Write[] = [
            { disk: "vda", offset: (2 + (round % 5)) * MiB, length: MiB, pattern: 0xd0 + round },
            { disk: "vdb", offset: round * BLOCK, length: BLOCK, pattern: 0xe0 + round },
          ];
          await writeRunning(ctx, vm.id, delta);
          model = applyWrites(cloneModel(model), delta);
          await sweep.interrupted(round, { op: "removeSnapshotKeepingChanges", vmId: vm.id, name: protect });
          expect(await ctx.provider.listSnapshots(vm.id)).toEqual([]);
          expect(await ctx.provider.powerState(vm.id), `after merging ${protect}`).toBe("running");
        }
        await ctx.provider.powerOff(vm.id);
        await expectDisks(ctx, vm.id, model, { what: "after every merge" });
        sweep.finish("killSweepLiveMergeMs");
      },
      120_000,
    );
  });
}
