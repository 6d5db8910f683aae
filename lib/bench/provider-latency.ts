// Per-operation latency of a provider: one VM's life through every operation the failback engine calls, timed
// step by step. Both providers run the same sequence on the same VM shape, taking turns round by round, so a
// slow spell of the shared machine falls on both alike. Writes that give commits, merges and CBT something to
// carry are made between the timed steps and are not timed.
import type { DiskHandle } from "@/lib/providers/types";
import type { LatencySubject } from "./latency-subjects";
import { type Summary, summarize } from "./stats";
import { timed } from "./timing";

/** The timeout of the graceful shutdown of a VM that never answers: what exceeds it is teardown cost. */
export const SHUTDOWN_TIMEOUT_MS = 1000;
const READ_BYTES = 64 * 1024;
const WRITE_BYTES = 256 * 1024;

/** The operations in the order a round runs them; `key` is the JSON name. */
export const OPERATIONS = [
  { key: "create_vm", label: "createVm (2 × 64 MiB qcow2)" },
  { key: "read_stopped", label: "openDiskForRead, stopped (open + 64 KiB + close)" },
  { key: "snapshot_working_stopped", label: "ensureSnapshot working (stopped)" },
  { key: "commit_stopped", label: "removeSnapshotKeepingChanges (stopped commit)" },
  { key: "restart_tracking_stopped", label: "restartChangeTracking (stopped)" },
  { key: "changed_blocks_bitmap", label: "changedBlocks bitmap (stopped)" },
  { key: "power_on_cold", label: "powerOn (cold)" },
  { key: "snapshot_protective_running", label: "ensureSnapshot protective (running)" },
  { key: "read_at_protective_running", label: "openDiskForRead at protective (running)" },
  { key: "merge_running", label: "removeSnapshotKeepingChanges (running merge)" },
  { key: "power_off", label: "powerOff" },
  { key: "shutdown_forced", label: "shutdownGuest forced (no agent)" },
  { key: "shutdown_timeout_forced", label: `shutdownGuest timeout_forced (${SHUTDOWN_TIMEOUT_MS} ms timeout)` },
] as const;

export type OperationKey = (typeof OPERATIONS)[number]["key"];

export interface SubjectLatency {
  key: LatencySubject["key"];
  label: string;
  /** Seconds per operation, one sample per round. */
  operations: Record<OperationKey, Summary>;
  /** timeout_forced: how long past the timeout the call returned (seconds; the VM is off by then). */
  timeoutOvershoot: Summary;
}

type Samples = Record<OperationKey, number[]> & { overshoot: number[] };

function emptySamples(): Samples {
  const samples = Object.fromEntries(OPERATIONS.map((o) => [o.key, [] as number[]])) as Record<OperationKey, number[]>;
  return { ...samples, overshoot: [] };
}

async function readAndClose(open: () => Promise<DiskHandle>): Promise<void> {
  const handle = await open();
  try {
    await handle.read(0, READ_BYTES);
  } finally {
    await handle.close();
  }
}

/** A few 64 KiB-aligned writes spread over the disk's first 48 MiB, through a writable handle. */
async function writeSome(open: () => Promise<DiskHandle>, pattern: number): Promise<void> {
  const handle = await open();
  try {
    for (const mib of [1, 17, 33, 47]) await handle.write(mib * 1024 * 1024, Buffer.alloc(WRITE_BYTES, pattern));
    await handle.flush();
  } finally {
    await handle.close();
  }
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`${what}: the benchmark would time the wrong thing`);
}

/** One round on one subject: two fresh VMs (one without, one with a guest agent declared), every operation once. */
async function runRound(subject: LatencySubject, round: number, samples: Samples): Promise<void> {
  const p = subject.provider;
  const time = async <T>(key: OperationKey, step: () => Promise<T>): Promise<T> => {
    const { value, seconds } = await timed(step);
    samples[key].push(seconds);
    return value;
  };

  const vm = await time("create_vm", () => subject.createVm(`r${round}`, false));
  const id = vm.id;
  await time("read_stopped", () => readAndClose(() => p.openDiskForRead(id, "vda")));

  await time("snapshot_working_stopped", () => p.ensureSnapshot(id, "bench-work", "working"));
  await writeSome(() => p.openSnapshotForWrite(id, "vda", "bench-work"), 0x21);
  await time("commit_stopped", () => p.removeSnapshotKeepingChanges(id, "bench-work"));

  await time("restart_tracking_stopped", () => p.restartChangeTracking(id, "bench-cbt"));
  await writeSome(() => subject.openTopForWrite(id, "vda"), 0x22);
  const changed = await time("changed_blocks_bitmap", () =>
    p.changedBlocks(id, "vda", { kind: "bitmap", name: "bench-cbt" }),
  );
  expect(changed.available, `${subject.label}: changedBlocks is unavailable`);
  if (changed.available) {
    const bytes = changed.regions.reduce((n, r) => n + r.length, 0);
    expect(bytes >= 4 * WRITE_BYTES, `${subject.label}: changedBlocks found ${bytes} bytes, wrote ${4 * WRITE_BYTES}`);
  }

  await time("power_on_cold", () => p.powerOn(id));
  await time("snapshot_protective_running", () => p.ensureSnapshot(id, "bench-protect", "protective"));
  await subject.writeThroughRunningVm(id, "vda", 2 * 1024 * 1024, WRITE_BYTES, 0x23);
  await time("read_at_protective_running", () =>
    readAndClose(() => p.openDiskForRead(id, "vda", { at: "bench-protect" })),
  );
  await time("merge_running", () => p.removeSnapshotKeepingChanges(id, "bench-protect"));
  await time("power_off", () => p.powerOff(id));

  await p.powerOn(id);
  const forced = await time("shutdown_forced", () => p.shutdownGuest(id, { timeoutMs: SHUTDOWN_TIMEOUT_MS }));
  expect(forced.path === "forced", `${subject.label}: shutdown of a VM without agent took path ${forced.path}`);

  // Declared to answer shutdown requests, but no OS runs to answer: the provider must wait out the timeout.
  const agentVm = await subject.createVm(`r${round}-agent`, true);
  await p.powerOn(agentVm.id);
  const shutdown = await time("shutdown_timeout_forced", () =>
    p.shutdownGuest(agentVm.id, { timeoutMs: SHUTDOWN_TIMEOUT_MS }),
  );
  expect(shutdown.path === "timeout_forced", `${subject.label}: a silent guest's shutdown took path ${shutdown.path}`);
  samples.overshoot.push((samples.shutdown_timeout_forced.at(-1) as number) - SHUTDOWN_TIMEOUT_MS / 1000);
  expect((await p.powerState(agentVm.id)) === "off", `${subject.label}: VM still runs after timeout_forced`);
}

/**
 * `rounds` rounds over all subjects, taking turns. `onRound` reports progress. The caller cleans the subjects up
 * (also when this throws).
 */
export async function measureLatency(
  subjects: readonly LatencySubject[],
  rounds: number,
  onRound: (subject: LatencySubject, round: number) => void = () => {},
): Promise<SubjectLatency[]> {
  const samples = new Map(subjects.map((s) => [s.key, emptySamples()]));
  for (let round = 1; round <= rounds; round++) {
    for (const subject of subjects) {
      onRound(subject, round);
      await runRound(subject, round, samples.get(subject.key) as Samples);
    }
  }
  return subjects.map((subject) => {
    const own = samples.get(subject.key) as Samples;
    const operations = Object.fromEntries(OPERATIONS.map((o) => [o.key, summarize(own[o.key])])) as Record<
      OperationKey,
      Summary
    >;
    return { key: subject.key, label: subject.label, operations, timeoutOvershoot: summarize(own.overshoot) };
  });
}
