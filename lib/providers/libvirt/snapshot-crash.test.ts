// A kill between any two sub-steps of a libvirt snapshot operation: a child process runs the operation and
// SIGKILLs itself at one named sub-step; then reconcile and a re-run must converge on exactly what an
// uninterrupted run gives (layers, bytes), with no file of the journal left behind. Real libvirtd, real QEMU.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { describeWithLibvirt, LIBVIRT_URI } from "@/lib/testing/libvirt";
import { block, TestDomains } from "./testing/domains";

const execFileAsync = promisify(execFile);
const child = path.join(import.meta.dirname, "testing", "crash-child.ts");

interface Scenario {
  name: string;
  op: "ensure" | "keep" | "discard";
  snapshot: string;
  kind: "working" | "protective";
  steps: string[];
  /** Brings a fresh domain to the state before the operation. */
  prepare(domains: TestDomains, vmId: string): Promise<void>;
  /** The end state an uninterrupted run gives. */
  check(domains: TestDomains, vmId: string): Promise<void>;
}

const snapshotsOf = async (domains: TestDomains, vmId: string) =>
  (await domains.provider.listSnapshots(vmId)).map((s) => `${s.name}:${s.kind}:${s.disks.join("+")}`);

const scenarios: Scenario[] = [
  {
    name: "ensure, domain stopped",
    op: "ensure",
    snapshot: "w1",
    kind: "working",
    steps: ["overlay-made", "overlay-renamed", "attached"],
    prepare: (d, vm) => d.fill(vm, "vda", 0, block, 0x11),
    check: async (d, vm) => {
      expect(await snapshotsOf(d, vm)).toEqual(["w1:working:vda+vdb"]);
      expect(await d.byteAt(vm, "vda", 0)).toBe(0x11);
    },
  },
  {
    name: "ensure, domain running",
    op: "ensure",
    snapshot: "p1",
    kind: "protective",
    steps: ["overlay-made", "overlay-renamed", "attached"],
    prepare: (d, vm) => d.provider.powerOn(vm),
    check: async (d, vm) => {
      expect(await snapshotsOf(d, vm)).toEqual(["p1:protective:vda+vdb"]);
      await d.provider.writePatternThroughRunningVm(vm, "vda", 2 * block, block, 0x22);
      await d.provider.powerOff(vm);
      expect(await d.byteAt(vm, "vda", 2 * block)).toBe(0x22);
      expect(await d.byteAt(vm, "vda", 2 * block, "p1")).toBe(0);
    },
  },
  {
    name: "commit, domain stopped",
    op: "keep",
    snapshot: "w1",
    kind: "working",
    steps: ["marked", "data-committed", "chain-updated"],
    prepare: async (d, vm) => {
      await d.provider.ensureSnapshot(vm, "w1", "working");
      const handle = await d.provider.openSnapshotForWrite(vm, "vda", "w1");
      await handle.write(3 * block, Buffer.alloc(block, 0x33));
      await handle.close();
    },
    check: async (d, vm) => {
      expect(await snapshotsOf(d, vm)).toEqual([]);
      expect(await d.byteAt(vm, "vda", 3 * block)).toBe(0x33);
    },
  },
  {
    name: "merge, domain running",
    op: "keep",
    snapshot: "p1",
    kind: "protective",
    steps: ["marked", "chain-updated"],
    prepare: async (d, vm) => {
      await d.provider.powerOn(vm);
      await d.provider.ensureSnapshot(vm, "p1", "protective");
      await d.provider.writePatternThroughRunningVm(vm, "vda", 4 * block, block, 0x44);
    },
    check: async (d, vm) => {
      expect(await snapshotsOf(d, vm)).toEqual([]);
      await d.provider.powerOff(vm);
      expect(await d.byteAt(vm, "vda", 4 * block)).toBe(0x44);
    },
  },
  {
    name: "revert, domain stopped",
    op: "discard",
    snapshot: "p1",
    kind: "protective",
    steps: ["renamed", "repointed"],
    prepare: async (d, vm) => {
      await d.fill(vm, "vda", 5 * block, block, 0x55);
      await d.provider.powerOn(vm);
      await d.provider.ensureSnapshot(vm, "p1", "protective");
      await d.provider.writePatternThroughRunningVm(vm, "vda", 5 * block, block, 0x66);
      await d.provider.powerOff(vm);
    },
    check: async (d, vm) => {
      expect(await snapshotsOf(d, vm)).toEqual([]);
      expect(await d.byteAt(vm, "vda", 5 * block)).toBe(0x55);
    },
  },
];

const domains = new TestDomains();
afterAll(() => domains.cleanup());

describeWithLibvirt("libvirt snapshot operations killed between sub-steps", () => {
  let counter = 0;
  for (const scenario of scenarios) {
    for (const killAt of scenario.steps) {
      it(`${scenario.name}: killed after ${killAt}, then reconciled and run again`, async () => {
        const vm = await domains.create(`crash-${++counter}`);
        await scenario.prepare(domains, vm.id);
        const args = [LIBVIRT_URI, domains.storageDir, vm.id, scenario.op, scenario.snapshot, scenario.kind, killAt];
        const outcome = await execFileAsync(process.execPath, ["--import", "tsx", child, ...args]).then(
          (r) => ({ killed: false, stdout: r.stdout }),
          (err: { signal?: string; stdout?: string; stderr?: string }) => {
            if (err.signal !== "SIGKILL") throw new Error(`the child failed: ${err.stderr ?? ""}`);
            return { killed: true, stdout: err.stdout ?? "" };
          },
        );
        expect(outcome).toMatchObject({ killed: true });
        expect(outcome.stdout).toContain(`step ${killAt}`);

        const report = await domains.provider.reconcile(vm.id);
        expect(report.problems).toEqual([]);
        if (scenario.op === "ensure") await domains.provider.ensureSnapshot(vm.id, scenario.snapshot, scenario.kind);
        else if (scenario.op === "keep") await domains.provider.removeSnapshotKeepingChanges(vm.id, scenario.snapshot);
        else await domains.provider.removeSnapshotDiscardingChanges(vm.id, scenario.snapshot);
        await scenario.check(domains, vm.id);
        expect(domains.leftovers()).toEqual([]);
        await domains.provider.powerOff(vm.id);
      });
    }
  }
});
