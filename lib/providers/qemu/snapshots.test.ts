import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../errors";
import { createVm } from "./create-vm";
import { qemuImg } from "../chain-export/exec";
import { powerOff, powerOn, powerState, shutdownGuest } from "./power";
import type { Site } from "./site";
import { ensureSnapshot } from "./snapshot-create";
import { removeSnapshotDiscardingChanges } from "./snapshot-discard";
import { listSnapshots } from "./snapshot-layers";
import { removeSnapshotKeepingChanges } from "./snapshot-merge";
import { reconcileVm } from "./snapshot-reconcile";
import { elapsed, hasPattern, headerBacking, MiB, qemuIo, TestSites, viewSha256 } from "./testing/vms";
import { activeChainNodes, namedNodes } from "./block-graph";
import { writePatternLive } from "./live-disk-io";
import { nodeName, runPaths } from "./vm-names";
import { withQmp } from "./vm-qmp";

const sites = new TestSites();
const timings: Record<string, number> = {};
let site: Site;

beforeAll(() => {
  site = sites.make("fbsnap-");
});

afterAll(async () => {
  console.log(`[qemu snapshot timings] ${JSON.stringify(timings)}`);
  await sites.cleanup();
});

const layers = (vmId: string, label = "vda") => site.readConfig(vmId).disks.find((d) => d.label === label)?.layers;
const file = (vmId: string, layer: string, label = "vda") => site.layerFile(vmId, label, layer);
const chain = (vmId: string, label = "vda") => withQmp(site, vmId, (qmp) => activeChainNodes(qmp, label));
const timed = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
  const t = Date.now();
  const result = await work();
  timings[key] = elapsed(t);
  return result;
};
const rejection = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
};

describe("offline working snapshot", () => {
  beforeAll(async () => {
    await createVm(site, "prod", { name: "prod", disks: [{ label: "vda", sizeBytes: 16 * MiB }] });
    await qemuIo(file("prod", "base"), "write -P 0x11 0 1M");
  });

  it("takes the writes in its overlay and commits them into the base", async () => {
    const baseBefore = await viewSha256(file("prod", "base"));
    await timed("ensureOfflineMs", () => ensureSnapshot(site, "prod", "fb-s1-work1", "working"));
    await ensureSnapshot(site, "prod", "fb-s1-work1", "working"); // twice → one layer
    expect(layers("prod")).toEqual(["base", "fb-s1-work1"]);
    expect(await listSnapshots(site, "prod")).toEqual([{ name: "fb-s1-work1", kind: "working", disks: ["vda"] }]);
    expect(await headerBacking(file("prod", "fb-s1-work1"))).toBe("base.qcow2");

    await qemuIo(file("prod", "fb-s1-work1"), "write -P 0x22 1M 1M");
    expect(await viewSha256(file("prod", "base"))).toBe(baseBefore); // base untouched until commit
    expect(await hasPattern(file("prod", "fb-s1-work1"), 0x22, MiB, MiB)).toBe(true);
    expect(await hasPattern(file("prod", "fb-s1-work1"), 0x11, 0, MiB)).toBe(true);

    await timed("commitOfflineMs", () => removeSnapshotKeepingChanges(site, "prod", "fb-s1-work1"));
    await removeSnapshotKeepingChanges(site, "prod", "fb-s1-work1"); // gone → no-op
    expect(layers("prod")).toEqual(["base"]);
    expect(fs.existsSync(file("prod", "fb-s1-work1"))).toBe(false);
    expect(await hasPattern(file("prod", "base"), 0x22, MiB, MiB)).toBe(true);
    expect(await listSnapshots(site, "prod")).toEqual([]);
    expect(site.readConfig("prod").snapshotKinds).toEqual({});
  });

  it("discarding leaves the base untouched", async () => {
    const baseBefore = await viewSha256(file("prod", "base"));
    await ensureSnapshot(site, "prod", "fb-s2-work1", "working");
    await qemuIo(file("prod", "fb-s2-work1"), "write -P 0x33 0 4M");
    await timed("discardOfflineMs", () => removeSnapshotDiscardingChanges(site, "prod", "fb-s2-work1"));
    await removeSnapshotDiscardingChanges(site, "prod", "fb-s2-work1");
    expect(layers("prod")).toEqual(["base"]);
    expect(fs.existsSync(file("prod", "fb-s2-work1"))).toBe(false);
    expect(await viewSha256(file("prod", "base"))).toBe(baseBefore);
  });
});

describe("live protective snapshot", () => {
  beforeAll(async () => {
    await createVm(site, "replica", {
      name: "replica",
      disks: [
        { label: "vda", sizeBytes: 16 * MiB },
        { label: "vdb", sizeBytes: 8 * MiB },
      ],
    });
    await qemuIo(file("replica", "base"), "write -P 0x11 0 1M");
    await powerOn(site, "replica");
  });

  it("freezes the layers below while the VM keeps writing, then merges back while running", async () => {
    await writePatternLive(site, "replica", "vda", 0, 65536, 0x44); // before the snapshot: into base
    await timed("ensureLiveMs", () => ensureSnapshot(site, "replica", "fb-s1-protect1", "protective"));
    await ensureSnapshot(site, "replica", "fb-s1-protect1", "protective");
    expect(layers("replica", "vda")).toEqual(["base", "fb-s1-protect1"]);
    expect(layers("replica", "vdb")).toEqual(["base", "fb-s1-protect1"]);
    expect(await chain("replica")).toEqual([nodeName("vda", "fb-s1-protect1"), "vda-base"]);
    expect(await chain("replica", "vdb")).toEqual([nodeName("vdb", "fb-s1-protect1"), "vdb-base"]);
    expect(await listSnapshots(site, "replica")).toEqual([
      { name: "fb-s1-protect1", kind: "protective", disks: ["vda", "vdb"] },
    ]);

    const frozen = await viewSha256(file("replica", "base"));
    await writePatternLive(site, "replica", "vda", 2 * MiB, MiB, 0x55);
    await writePatternLive(site, "replica", "vdb", 0, 65536, 0x56);
    expect(await viewSha256(file("replica", "base"))).toBe(frozen); // t1 view unchanged
    expect(await hasPattern(file("replica", "base"), 0x44, 0, 65536)).toBe(true);
    expect(await hasPattern(file("replica", "fb-s1-protect1"), 0x55, 2 * MiB, MiB)).toBe(true);

    await timed("mergeTopLiveMs", () => removeSnapshotKeepingChanges(site, "replica", "fb-s1-protect1"));
    await removeSnapshotKeepingChanges(site, "replica", "fb-s1-protect1");
    expect(layers("replica", "vda")).toEqual(["base"]);
    expect(layers("replica", "vdb")).toEqual(["base"]);
    expect(await chain("replica")).toEqual(["vda-base"]);
    expect(await powerState(site, "replica")).toBe("running"); // not left paused by the pivot
    expect(fs.existsSync(runPaths(site, "replica").pausedMarker)).toBe(false);
    expect(fs.existsSync(file("replica", "fb-s1-protect1"))).toBe(false);
    expect([...(await withQmp(site, "replica", namedNodes))].filter((n) => n.includes("protect1"))).toEqual([]);

    await writePatternLive(site, "replica", "vda", 4 * MiB, 65536, 0x57); // now straight into base
    await powerOff(site, "replica");
    expect(await hasPattern(file("replica", "base"), 0x55, 2 * MiB, MiB)).toBe(true);
    expect(await hasPattern(file("replica", "base"), 0x57, 4 * MiB, 65536)).toBe(true);
    expect(await hasPattern(file("replica", "base", "vdb"), 0x56, 0, 65536)).toBe(true);
  });

  it("refuses to revert the top layer of a running VM, and other non-sensical removals", async () => {
    await powerOn(site, "replica");
    await ensureSnapshot(site, "replica", "fb-s3-protect1", "protective");
    expect((await rejection(removeSnapshotDiscardingChanges(site, "replica", "fb-s3-protect1"))).kind).toBe("busy");
    expect((await rejection(removeSnapshotKeepingChanges(site, "replica", "base"))).kind).toBe("invalid");
    await ensureSnapshot(site, "replica", "fb-s3-protect2", "protective");
    expect((await rejection(removeSnapshotDiscardingChanges(site, "replica", "fb-s3-protect1"))).kind).toBe("invalid");
    expect(layers("replica")).toEqual(["base", "fb-s3-protect1", "fb-s3-protect2"]);
  });

  it("merges a middle layer while running (non-active block-commit)", async () => {
    await writePatternLive(site, "replica", "vda", 6 * MiB, 65536, 0x61); // into protect2 (top)
    await timed("mergeMiddleLiveMs", () => removeSnapshotKeepingChanges(site, "replica", "fb-s3-protect1"));
    expect(layers("replica")).toEqual(["base", "fb-s3-protect2"]);
    expect(await chain("replica")).toEqual([nodeName("vda", "fb-s3-protect2"), "vda-base"]);
    expect(await headerBacking(file("replica", "fb-s3-protect2"))).toBe("base.qcow2"); // QEMU rewrote it, relative
    await removeSnapshotKeepingChanges(site, "replica", "fb-s3-protect2");
    await powerOff(site, "replica");
    expect(layers("replica")).toEqual(["base"]);
    expect(await hasPattern(file("replica", "base"), 0x61, 6 * MiB, 65536)).toBe(true);
  });
});

describe("failback phase 2 on the replica (appendix)", () => {
  it("protect1 live, replica off, protect2 offline, protect1 merged from under protect2, revert to protect2", async () => {
    await createVm(site, "rep2", {
      name: "rep2",
      disks: [{ label: "vda", sizeBytes: 16 * MiB, layers: ["rp-1", "failover"] }],
    });
    await qemuIo(file("rep2", "rp-1"), "write -P 0x11 0 1M");
    await qemuIo(file("rep2", "failover"), "write -P 0x12 1M 1M");
    await powerOn(site, "rep2");
    await ensureSnapshot(site, "rep2", "fb-s4-protect1", "protective"); // phase 1, step 2 (live)
    await writePatternLive(site, "rep2", "vda", 2 * MiB, MiB, 0x66); // writes while ready_to_switch
    expect((await shutdownGuest(site, "rep2", { timeoutMs: 5_000 })).path).toBe("forced");

    await ensureSnapshot(site, "rep2", "fb-s4-protect2", "protective"); // phase 2, step 3 (offline)
    expect(layers("rep2")).toEqual(["rp-1", "failover", "fb-s4-protect1", "fb-s4-protect2"]);
    const switchTime = await viewSha256(file("rep2", "fb-s4-protect2"));

    await timed("mergeMiddleOfflineMs", () => removeSnapshotKeepingChanges(site, "rep2", "fb-s4-protect1")); // step 5
    expect(layers("rep2")).toEqual(["rp-1", "failover", "fb-s4-protect2"]);
    expect(await headerBacking(file("rep2", "fb-s4-protect2"))).toBe("failover.qcow2");
    expect(fs.existsSync(file("rep2", "fb-s4-protect1"))).toBe(false);
    expect(await viewSha256(file("rep2", "fb-s4-protect2"))).toBe(switchTime);
    expect(await viewSha256(file("rep2", "failover"))).toBe(switchTime); // rp-k ← failover = switch-time state
    expect(await hasPattern(file("rep2", "failover"), 0x66, 2 * MiB, MiB)).toBe(true);

    // Undo from failback: whatever landed in protect2 after the switch is thrown away.
    await qemuIo(file("rep2", "fb-s4-protect2"), "write -P 0x77 0 2M");
    await timed("revertOfflineMs", () => removeSnapshotDiscardingChanges(site, "rep2", "fb-s4-protect2"));
    expect(layers("rep2")).toEqual(["rp-1", "failover"]);
    expect(await viewSha256(file("rep2", "failover"))).toBe(switchTime);
    expect(await listSnapshots(site, "rep2")).toEqual([{ name: "failover", kind: "other", disks: ["vda"] }]);
  });
});

describe("crash recovery: a re-run or reconcileVm converges", () => {
  beforeAll(async () => {
    await createVm(site, "crash", { name: "crash", disks: [{ label: "vda", sizeBytes: 16 * MiB }] });
    await qemuIo(file("crash", "base"), "write -P 0x11 0 1M");
  });

  it("a temp overlay left by an interrupted create is removed; the re-run creates the layer once", async () => {
    fs.writeFileSync(`${file("crash", "c1")}.tmp`, "half-written");
    await ensureSnapshot(site, "crash", "c1", "working");
    expect(fs.existsSync(`${file("crash", "c1")}.tmp`)).toBe(false);
    expect(layers("crash")).toEqual(["base", "c1"]);
    await removeSnapshotDiscardingChanges(site, "crash", "c1");
  });

  it("an overlay made but not yet listed (crash before vm.json) is adopted, not made again", async () => {
    await qemuImg([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-b",
      "base.qcow2",
      "-F",
      "qcow2",
      file("crash", "c2"),
      String(16 * MiB),
    ]);
    const inode = fs.statSync(file("crash", "c2")).ino;
    await ensureSnapshot(site, "crash", "c2", "working");
    expect(layers("crash")).toEqual(["base", "c2"]);
    expect(fs.statSync(file("crash", "c2")).ino).toBe(inode);
    expect(site.readConfig("crash").snapshotKinds?.c2).toBe("working");
  });

  it("a removal interrupted after its data step (.trash) is finished; unreachable layer files are removed", async () => {
    await qemuIo(file("crash", "c2"), "write -P 0x22 1M 1M");
    // removeSnapshotKeepingChanges(c2) crashed after the commit and the rename to .trash:
    await qemuImg(["commit", "-q", "-d", file("crash", "c2")]);
    fs.renameSync(file("crash", "c2"), `${file("crash", "c2")}.trash`);
    // … and some unreachable layer file (its backing is nothing vm.json knows)
    await qemuImg([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "gone.qcow2",
      "-F",
      "qcow2",
      file("crash", "stray"),
      String(16 * MiB),
    ]);
    const report = await reconcileVm(site, "crash");
    expect(report.problems).toEqual([]);
    expect(report.actions.join("\n")).toMatch(/finished the interrupted removal of layer c2/);
    expect(report.actions.join("\n")).toMatch(/removed unlisted layer file stray/);
    expect(layers("crash")).toEqual(["base"]);
    expect(fs.readdirSync(site.diskDir("crash", "vda"))).toEqual(["base.qcow2"]);
    expect(await hasPattern(file("crash", "base"), 0x22, MiB, MiB)).toBe(true);
    await removeSnapshotKeepingChanges(site, "crash", "c2"); // the engine's retry: gone → no-op
    expect((await reconcileVm(site, "crash")).actions).toEqual([]);
  });

  it("a middle-layer merge interrupted after rebase -u is finished by the re-run, content intact", async () => {
    await ensureSnapshot(site, "crash", "m1", "protective");
    await qemuIo(file("crash", "m1"), "write -P 0x31 2M 1M");
    await ensureSnapshot(site, "crash", "m2", "protective");
    await qemuIo(file("crash", "m2"), "write -P 0x32 3M 1M");
    const view = await viewSha256(file("crash", "m2"));
    // removeSnapshotKeepingChanges(m1) crashed after commit + rebase, before vm.json:
    await qemuImg(["commit", "-q", "-d", file("crash", "m1")]);
    await qemuImg(["rebase", "-q", "-u", "-b", "base.qcow2", "-F", "qcow2", file("crash", "m2")]);
    await removeSnapshotKeepingChanges(site, "crash", "m1");
    expect(layers("crash")).toEqual(["base", "m2"]);
    expect(fs.existsSync(file("crash", "m1"))).toBe(false);
    expect(await viewSha256(file("crash", "m2"))).toBe(view);
    await removeSnapshotKeepingChanges(site, "crash", "m2");
    expect(await viewSha256(file("crash", "base"))).toBe(view);
  });

  it("live: a snapshot switched in QEMU but not recorded is adopted with the writes it took", async () => {
    await powerOn(site, "crash");
    // ensureSnapshot(c3) crashed after blockdev-snapshot, before vm.json:
    await qemuImg([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "base.qcow2",
      "-F",
      "qcow2",
      file("crash", "c3"),
      String(16 * MiB),
    ]);
    await withQmp(site, "crash", async (qmp) => {
      await qmp.execute("blockdev-add", {
        driver: "qcow2",
        "node-name": "vda-c3",
        file: { driver: "file", filename: file("crash", "c3") },
        backing: null,
      });
      await qmp.execute("blockdev-snapshot", { node: "vda-base", overlay: "vda-c3" });
    });
    await writePatternLive(site, "crash", "vda", 5 * MiB, 65536, 0x41);
    const report = await reconcileVm(site, "crash");
    expect(report.actions.join("\n")).toMatch(/adopted live snapshot layer c3/);
    expect(layers("crash")).toEqual(["base", "c3"]);
    await ensureSnapshot(site, "crash", "c3", "protective"); // the retry: no second layer
    expect(layers("crash")).toEqual(["base", "c3"]);
    expect(await hasPattern(file("crash", "c3"), 0x41, 5 * MiB, 65536)).toBe(true);
  });

  it("live: a pivot done but not recorded (VM paused by us) is recorded and the VM resumed", async () => {
    // removeSnapshotKeepingChanges(c3) crashed after block-job-complete, before vm.json:
    await withQmp(site, "crash", async (qmp) => {
      const since = qmp.mark();
      await qmp.execute("block-commit", { "job-id": "j1", device: "vda-c3", "base-node": "vda-base" });
      await qmp.waitForEvent("BLOCK_JOB_READY", (e) => e.data?.device === "j1", 10_000, { since });
      fs.writeFileSync(runPaths(site, "crash").pausedMarker, "j1\n");
      await qmp.execute("stop");
      await qmp.execute("block-job-complete", { device: "j1" });
      await qmp.waitForEvent("BLOCK_JOB_COMPLETED", (e) => e.data?.device === "j1", 10_000, { since });
    });
    expect(await powerState(site, "crash")).toBe("paused");
    const report = await reconcileVm(site, "crash");
    expect(report.problems).toEqual([]);
    expect(report.actions.join("\n")).toMatch(/finished the interrupted live merge of layer c3[\s\S]*resumed/);
    expect(layers("crash")).toEqual(["base"]);
    expect(await powerState(site, "crash")).toBe("running");
    expect(fs.existsSync(file("crash", "c3"))).toBe(false);
  });

  it("live: a commit job left by a dead process (copying, ready, or ready with the VM paused) is cancelled; the re-run merges with every write", async () => {
    const jobs = () => withQmp(site, "crash", (qmp) => qmp.execute<{ device: string }[]>("query-block-jobs"));
    const cases = [
      { layer: "c6", state: "running", speed: 1 }, // throttled: still copying when the process died
      { layer: "c7", state: "ready" }, // ready: mirroring every guest write into base, nobody to pivot
      { layer: "c8", state: "ready", pausedByUs: true }, // killed between `stop` and block-job-complete
    ];
    for (const [i, c] of cases.entries()) {
      await ensureSnapshot(site, "crash", c.layer, "protective");
      await writePatternLive(site, "crash", "vda", 8 * MiB + i * MiB, 65536, 0x70 + i);
      const jobId = `fb-commit-${nodeName("vda", c.layer)}`;
      // removeSnapshotKeepingChanges(c) died after block-commit (and, for c8, after pausing the guest):
      await withQmp(site, "crash", async (qmp) => {
        const since = qmp.mark();
        await qmp.execute("block-commit", {
          "job-id": jobId,
          device: nodeName("vda", c.layer),
          "base-node": "vda-base",
          ...(c.speed === undefined ? {} : { speed: c.speed }),
        });
        if (c.state === "ready")
          await qmp.waitForEvent("BLOCK_JOB_READY", (e) => e.data?.device === jobId, 10_000, { since });
        if (c.pausedByUs) {
          fs.writeFileSync(runPaths(site, "crash").pausedMarker, `${jobId}\n`);
          await qmp.execute("stop");
        }
      });
      if (!c.pausedByUs) await writePatternLive(site, "crash", "vda", 12 * MiB + i * MiB, 65536, 0x78 + i); // after
      // QEMU's implicit filter above the layer is not part of the chain.
      expect(await chain("crash")).toEqual([nodeName("vda", c.layer), "vda-base"]);
      expect((await jobs()).map((j) => j.device)).toEqual([jobId]);

      const report = await reconcileVm(site, "crash");
      expect(report.problems, c.layer).toEqual([]);
      expect(report.actions.join("\n"), c.layer).toMatch(
        new RegExp(`cancelled block job ${jobId} \\(${c.pausedByUs ? "standby|ready" : c.state}\\)`),
      );
      if (c.pausedByUs) expect(report.actions.join("\n")).toMatch(/resumed the VM paused for a live merge/);
      expect(await jobs()).toEqual([]);
      expect(layers("crash")).toEqual(["base", c.layer]); // no pivot: the layer still holds the writes
      expect(await chain("crash")).toEqual([nodeName("vda", c.layer), "vda-base"]);
      expect(await powerState(site, "crash")).toBe("running");
      expect(await reconcileVm(site, "crash")).toMatchObject({ actions: [], problems: [] });

      await writePatternLive(site, "crash", "vda", 8 * MiB + i * MiB + 65536, 65536, 0x7c + i); // after the cancel
      await removeSnapshotKeepingChanges(site, "crash", c.layer); // the engine's re-run
      expect(layers("crash")).toEqual(["base"]);
      expect(await chain("crash")).toEqual(["vda-base"]);
      expect(await powerState(site, "crash")).toBe("running");
    }
    await powerOff(site, "crash");
    for (const [i, c] of cases.entries()) {
      const at = 8 * MiB + i * MiB;
      expect(await hasPattern(file("crash", "base"), 0x70 + i, at, 65536), `${c.layer} before`).toBe(true);
      expect(await hasPattern(file("crash", "base"), 0x7c + i, at + 65536, 65536), `${c.layer} after`).toBe(true);
      if (!c.pausedByUs)
        expect(await hasPattern(file("crash", "base"), 0x78 + i, 12 * MiB + i * MiB, 65536), c.layer).toBe(true);
    }
    await powerOn(site, "crash");
  });

  it("live: an overlay added to QEMU but never attached is removed; the retry then works", async () => {
    await qemuImg([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "base.qcow2",
      "-F",
      "qcow2",
      file("crash", "c4"),
      String(16 * MiB),
    ]);
    await withQmp(site, "crash", (qmp) =>
      qmp.execute("blockdev-add", {
        driver: "qcow2",
        "node-name": "vda-c4",
        file: { driver: "file", filename: file("crash", "c4") },
        backing: null,
      }),
    );
    const report = await reconcileVm(site, "crash");
    expect(report.actions.join("\n")).toMatch(/removed unattached layer file c4/);
    expect(await withQmp(site, "crash", namedNodes)).not.toContain("vda-c4");
    await ensureSnapshot(site, "crash", "c4", "protective");
    expect(await chain("crash")).toEqual(["vda-c4", "vda-base"]);
    await removeSnapshotKeepingChanges(site, "crash", "c4");
    await powerOff(site, "crash");
    expect(await hasPattern(file("crash", "base"), 0x41, 5 * MiB, 65536)).toBe(true);
  });

  it("a VM killed after a live snapshot (vm.json not updated) starts on the adopted layer", async () => {
    await powerOn(site, "crash");
    await qemuImg([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "base.qcow2",
      "-F",
      "qcow2",
      file("crash", "c5"),
      String(16 * MiB),
    ]);
    await withQmp(site, "crash", async (qmp) => {
      await qmp.execute("blockdev-add", {
        driver: "qcow2",
        "node-name": "vda-c5",
        file: { driver: "file", filename: file("crash", "c5") },
        backing: null,
      });
      await qmp.execute("blockdev-snapshot", { node: "vda-base", overlay: "vda-c5" });
    });
    await writePatternLive(site, "crash", "vda", 7 * MiB, 65536, 0x51);
    const pid = Number(fs.readFileSync(runPaths(site, "crash").pidFile, "utf8"));
    process.kill(pid, "SIGKILL");
    while ((await powerState(site, "crash")) !== "off") await new Promise((r) => setTimeout(r, 10));
    await powerOn(site, "crash"); // reconciles first: the writes in c5 are not lost
    expect(layers("crash")).toEqual(["base", "c5"]);
    expect(await chain("crash")).toEqual(["vda-c5", "vda-base"]);
    await powerOff(site, "crash");
    expect(await hasPattern(file("crash", "c5"), 0x51, 7 * MiB, 65536)).toBe(true);
  });
});
