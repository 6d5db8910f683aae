// The provider benchmark's report: one JSON object (the numbers, samples included) and the tables printed on
// stderr. Kept apart from the script so the script stays the order of work.
import os from "node:os";
import type { BenchDisks } from "./bench-disks";
import { formatBytes, formatRate, formatSeconds, renderTable } from "./format";
import type { PeerKey, PeerRun } from "./libvirt-diff";
import { PEERS } from "./libvirt-diff";
import { OPERATIONS, SHUTDOWN_TIMEOUT_MS, type SubjectLatency } from "./provider-latency";
import { VM_SHAPE } from "./latency-subjects";
import { roundTo, summarize, summaryMs } from "./stats";

export interface DiffMeasurements {
  disks: BenchDisks;
  changePercent: number;
  seed: string;
  buildSeconds: number;
  cold: boolean;
  /** Every round's run of each peer, in round order. */
  runs: Record<PeerKey, PeerRun[]>;
}

export function latencyReport(results: readonly SubjectLatency[], rounds: number) {
  const of = (key: string) => results.find((r) => r.key === key);
  const qemu = of("qemu");
  const libvirt = of("libvirt");
  return {
    rounds,
    vm: VM_SHAPE,
    shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS,
    operations: OPERATIONS.map((op) => {
      const q = qemu?.operations[op.key];
      const l = libvirt?.operations[op.key];
      return {
        key: op.key,
        label: op.label,
        qemu: q ? summaryMs(q) : null,
        libvirt: l ? summaryMs(l) : null,
        libvirt_over_qemu: q && l && q.median > 0 ? roundTo(l.median / q.median, 2) : null,
      };
    }),
    timeout_forced_overshoot_ms: {
      qemu: qemu ? summaryMs(qemu.timeoutOvershoot) : null,
      libvirt: libvirt ? summaryMs(libvirt.timeoutOvershoot) : null,
    },
  };
}

export function diffReport(m: DiffMeasurements) {
  const peers = PEERS.map(({ key, name }) => {
    const runs = m.runs[key];
    const last = runs.at(-1) as PeerRun;
    const time = summarize(runs.map((r) => r.seconds));
    const cpu = last.cpu;
    return {
      key,
      name,
      seconds: roundTo(time.median),
      min_s: roundTo(time.min),
      max_s: roundTo(time.max),
      samples_s: time.samples.map((s) => roundTo(s)),
      // syncDisk alone (median): the rest of `seconds` is opening and closing both sides.
      sync_s: roundTo(summarize(runs.map((r) => r.result.seconds)).median),
      // Disk bytes compared per second of the whole timed part (decimal MB).
      mb_per_s: roundTo(m.disks.sizeBytes / time.median / 1e6, 1),
      // Byte counts and CPU come from the last round (they do not vary between rounds).
      bytes_compared: last.result.bytesScanned,
      bytes_changed: last.result.bytesChanged,
      bytes_written: last.result.bytesWritten,
      bytes_sent: last.result.bytesSent,
      source_bytes_read: last.result.sourceBytesRead,
      target_bytes_read: last.result.targetBytesRead,
      zero_bytes_skipped: last.result.zeroBytesSkipped,
      cpu_s: {
        node: roundTo(cpu.self, 2),
        children: roundTo(cpu.children, 2),
        domain_qemu: last.domainQemuCpu === undefined ? null : roundTo(last.domainQemuCpu, 2),
        // Of domain_qemu, what the idle domain would have burnt in as long anyway (estimate).
        domain_qemu_idle:
          last.domainQemuIdleCpuPerSecond === undefined
            ? null
            : roundTo(last.domainQemuIdleCpuPerSecond * last.seconds, 2),
      },
      setup_s: roundTo(summarize(runs.map((r) => r.setupSeconds)).median),
      verified: runs.every((r) => r.identical),
    };
  });
  return {
    size_bytes: m.disks.sizeBytes,
    change_percent: m.changePercent,
    changed_bytes: m.disks.changedBytes,
    changed_blocks: m.disks.changedBlocks.length,
    seed: m.seed,
    rounds: m.runs.qemu_provider.length,
    cold: m.cold,
    build_s: roundTo(m.buildSeconds, 1),
    peers,
    verified: peers.every((p) => p.verified),
  };
}

export type LatencyReport = ReturnType<typeof latencyReport>;
export type DiffReport = ReturnType<typeof diffReport>;

const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`);
const cell = (s: { median_ms: number; min_ms: number; max_ms: number } | null) =>
  !s ? "–" : s.min_ms === s.max_ms ? ms(s.median_ms) : `${ms(s.median_ms)} (${ms(s.min_ms)}–${ms(s.max_ms)})`;

export function renderLatency(r: LatencyReport): string {
  const rows = r.operations.map((op) => [
    op.label,
    cell(op.qemu),
    cell(op.libvirt),
    op.libvirt_over_qemu === null ? "–" : `${op.libvirt_over_qemu.toFixed(2)}×`,
  ]);
  const o = r.timeout_forced_overshoot_ms;
  return [
    `provider latency: ${r.rounds} round(s), VMs without OS, ${r.vm.disks.length} × 64 MiB qcow2 disks; ` +
      "median (min–max) per operation",
    "",
    renderTable(["operation", "qemu provider", "libvirt provider", "libvirt/qemu"], rows, [1, 2, 3]),
    "",
    `timeout_forced: returned this long after the ${r.shutdown_timeout_ms} ms timeout — qemu ${cell(o.qemu)}, ` +
      `libvirt ${cell(o.libvirt)}`,
  ].join("\n");
}

export function renderDiff(r: DiffReport): string {
  const cores = os.availableParallelism();
  const rows = r.peers.map((p) => {
    const cpu =
      `node ${formatSeconds(p.cpu_s.node)} + children ${formatSeconds(p.cpu_s.children)}` +
      (p.cpu_s.domain_qemu === null
        ? ""
        : ` + domain QEMU ${formatSeconds(p.cpu_s.domain_qemu)}` +
          (p.cpu_s.domain_qemu_idle === null ? "" : ` (idle ≈ ${formatSeconds(p.cpu_s.domain_qemu_idle)})`));
    return [
      p.name,
      `${formatSeconds(p.seconds)}${r.rounds > 1 ? ` (${formatSeconds(p.min_s)}–${formatSeconds(p.max_s)})` : ""}`,
      formatSeconds(p.sync_s),
      formatRate(r.size_bytes, p.seconds),
      formatBytes(p.bytes_compared),
      formatBytes(p.bytes_written),
      cpu,
      p.verified ? "identical" : "DIFFERENT",
    ];
  });
  return [
    `full diff, source → fresh target: ${formatBytes(r.size_bytes)} disks, ${r.change_percent}% of 64 KiB blocks ` +
      `changed (${r.changed_blocks} blocks, ${formatBytes(r.changed_bytes)}); median of ${r.rounds} round(s); ` +
      `page cache dropped before each part: ${r.cold ? "yes" : "no"}`,
    "",
    renderTable(
      [
        "read path",
        "time",
        "sync",
        "rate",
        "compared",
        "written",
        `CPU, last round (${cores} cores)`,
        "qemu-img compare",
      ],
      rows,
      [1, 2, 3, 4, 5],
    ),
  ].join("\n");
}
