// The data-plane benchmark (issue 4): the product's block diff + transfer against rsync, qemu-img compare and the
// raw read floor, on the same pair of disks in one run.
//
//   npm run bench:dataplane -- --size 2G --change 1 [--json] [--rounds 3] [--dir <parent>] [--seed <s>] [--keep] [--warm]
//
// --json prints exactly one JSON object on stdout (the table and progress go to stderr); --rounds repeats the
// timed parts (read floor, rsync, ours, quick) in turn on fresh copies and reports each one's median, so that one
// noisy moment of a shared machine does not decide a comparison (the samples are in the JSON); --dir is where the
// run's temporary folder is made (default: the system temp dir); --keep leaves it behind; --warm skips dropping
// the page cache before each timed part (which needs root; without it the run reports cold: false anyway).
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type BenchDisks, buildBenchDisks, copySparse, layoutBytes } from "@/lib/bench/bench-disks";
import { dropPageCache, settleWrites } from "@/lib/bench/cache";
import { parseFlags, parseSize } from "@/lib/bench/cli";
import { freshTarget, fullSync, quickSync, verifyTarget } from "@/lib/bench/dataplane-runs";
import { formatBytes, formatSeconds, renderTable } from "@/lib/bench/format";
import { createOverlay } from "@/lib/bench/images";
import {
  ddReadFloor,
  filesEqual,
  qemuImgCompare,
  quickIoFloor,
  rsyncDelta,
  writeLocalRemoteShell,
} from "@/lib/bench/peers";
import { checkTargets } from "@/lib/bench/targets";
import { timed } from "@/lib/bench/timing";

interface Options {
  sizeBytes: number;
  changePercent: number;
  json: boolean;
  parentDir: string;
  seed: string;
  keep: boolean;
  warm: boolean;
  rounds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const flags = parseFlags(argv, {
    values: ["size", "change", "dir", "seed", "rounds"],
    booleans: ["json", "keep", "warm", "help"],
  });
  if (flags.has("help")) {
    process.stderr.write(
      "usage: bench-dataplane [--size 2G] [--change 1] [--json] [--rounds 3] [--dir <parent>] [--seed <s>] [--keep] [--warm]\n",
    );
    process.exit(0);
  }
  const text = (name: string, fallback: string) => {
    const value = flags.get(name);
    return typeof value === "string" ? value : fallback;
  };
  const changePercent = Number(text("change", "1"));
  if (!Number.isFinite(changePercent) || changePercent < 0 || changePercent > 100)
    throw new Error(`--change must be a percentage (0-100)`);
  const rounds = Number(text("rounds", "3"));
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 20)
    throw new Error("--rounds must be a whole number from 1 to 20");
  return {
    sizeBytes: parseSize(text("size", "2G")),
    changePercent,
    json: flags.has("json"),
    parentDir: path.resolve(text("dir", os.tmpdir())),
    seed: text("seed", "1"),
    keep: flags.has("keep"),
    warm: flags.has("warm"),
    rounds,
  };
}

function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

function toolVersion(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8" }).split("\n")[0]?.trim() ?? "";
  } catch {
    return "unknown";
  }
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(options.parentDir, { recursive: true });
  // Short names: the storage daemons' unix socket paths must stay under 108 bytes.
  const dir = await mkdtemp(path.join(options.parentDir, "bdp-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    if (!options.keep) void cleanup().finally(() => process.exit(130));
    else process.exit(130);
  });

  try {
    say(`building a ${formatBytes(options.sizeBytes)} source and target in ${dir} (seed ${options.seed}) …`);
    const build = await timed(() =>
      buildBenchDisks({ dir, sizeBytes: options.sizeBytes, changePercent: options.changePercent, seed: options.seed }),
    );
    const disks = build.value;
    say(
      `  done in ${formatSeconds(build.seconds)}: ${disks.changedBlocks.length} blocks of 64 KiB changed (${formatBytes(disks.changedBytes)})`,
    );

    let cold = !options.warm;
    const beforeTimedPart = async () => {
      await settleWrites();
      if (!options.warm) cold = (await dropPageCache()) && cold;
    };

    // Every timed part gets its own fresh copy of the unsynced target, made before the page cache is dropped.
    // The parts take turns round by round, so a slow spell of the machine falls on all of them alike.
    const rsh = await writeLocalRemoteShell(dir);
    const samples: RoundSample[] = [];
    let last: LastRound | undefined;
    for (let round = 1; round <= options.rounds; round++) {
      const of = options.rounds > 1 ? ` (round ${round} of ${options.rounds})` : "";
      say(`read floor: dd of both raw copies${of} …`);
      await beforeTimedPart();
      const readLimitSeconds = await ddReadFloor([disks.source.raw, disks.target.raw]);

      say(`rsync --inplace --no-whole-file over a remote-shell pipe${of} …`);
      const rsyncTarget = path.join(dir, "rsync-target.raw");
      await copySparse(disks.target.raw, rsyncTarget);
      await beforeTimedPart();
      const rsync = await rsyncDelta(disks.source.raw, rsyncTarget, rsh);
      const rsyncVerified = await filesEqual(disks.source.raw, rsyncTarget);

      say(`ours: full diff + transfer + read-back${of} …`);
      const oursTarget = await freshTarget(disks, "ours");
      await beforeTimedPart();
      const ours = await fullSync(disks, oursTarget);

      say(`quick: CBT regions + transfer + read-back${of} …`);
      const quickTarget = await freshTarget(disks, "quick");
      await beforeTimedPart();
      const quick = await quickSync(disks, quickTarget);

      say(`quick's I/O floor: qemu-img bench of as many blocks on both disks and a fresh overlay${of} …`);
      const floorOverlay = path.join(dir, "floor-work.qcow2");
      await rm(floorOverlay, { force: true });
      await createOverlay(disks.target.qcow2, floorOverlay);
      await beforeTimedPart();
      const quickFloorSeconds = await quickIoFloor({
        source: disks.source.qcow2,
        target: disks.target.qcow2,
        overlay: floorOverlay,
        blocks: disks.changedBlocks.length,
        sizeBytes: disks.sizeBytes,
      });

      samples.push({
        readLimitSeconds,
        rsyncSeconds: rsync.seconds,
        oursSeconds: ours.seconds,
        quickSeconds: quick.seconds,
        quickFloorSeconds,
        rsyncVerified,
      });
      last = { rsync, ours, oursTarget, quick, quickTarget };
    }
    if (!last) throw new Error("no round ran");

    // The checks of the result run once, on the last round's targets.
    say("verify: sha256 of every block on both sides …");
    await beforeTimedPart();
    const verify = await verifyTarget(disks, last.oursTarget, "ours");

    say("qemu-img compare of the two qcow2 disks …");
    // It stops at the first difference: on the unsynced pair it would time next to nothing. On the synchronized
    // pair it reads and compares everything, i.e. what a full comparison with qemu's own tools costs.
    await beforeTimedPart();
    const compare = await qemuImgCompare(disks.source.qcow2, last.oursTarget.files[1]);
    const quickVerify = await verifyTarget(disks, last.quickTarget, "quick");

    const report = buildReport(options, disks, {
      buildSeconds: build.seconds,
      samples,
      rsync: last.rsync,
      ours: last.ours,
      verify,
      compare,
      quick: last.quick,
      quickVerified: quickVerify.verified,
      cold,
    });
    say("");
    say(renderHuman(report));
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    if (!report.verified || !report.quick_verified) process.exitCode = 1;
  } finally {
    if (options.keep) say(`kept ${dir}`);
    else await cleanup();
  }
}

/** The timed parts of one round. */
interface RoundSample {
  readLimitSeconds: number;
  rsyncSeconds: number;
  oursSeconds: number;
  quickSeconds: number;
  /** qemu-img bench of quick's blocks: the I/O any quick rollback needs, with nothing else. */
  quickFloorSeconds: number;
  rsyncVerified: boolean;
}

interface LastRound {
  rsync: Awaited<ReturnType<typeof rsyncDelta>>;
  ours: Awaited<ReturnType<typeof fullSync>>;
  oursTarget: Awaited<ReturnType<typeof freshTarget>>;
  quick: Awaited<ReturnType<typeof quickSync>>;
  quickTarget: Awaited<ReturnType<typeof freshTarget>>;
}

type Measurements = {
  buildSeconds: number;
  samples: RoundSample[];
  /** Byte counts and CPU times come from the last round (they do not vary between rounds). */
  rsync: Awaited<ReturnType<typeof rsyncDelta>>;
  ours: Awaited<ReturnType<typeof fullSync>>;
  verify: Awaited<ReturnType<typeof verifyTarget>>;
  compare: Awaited<ReturnType<typeof qemuImgCompare>>;
  quick: Awaited<ReturnType<typeof quickSync>>;
  quickVerified: boolean;
  cold: boolean;
};

function buildReport(options: Options, disks: BenchDisks, m: Measurements) {
  const series = (pick: (s: RoundSample) => number) => m.samples.map(pick);
  const oursSeconds = median(series((s) => s.oursSeconds));
  const quickSeconds = median(series((s) => s.quickSeconds));
  const rsyncSeconds = median(series((s) => s.rsyncSeconds));
  const readLimitSeconds = median(series((s) => s.readLimitSeconds));
  const quickFloorSeconds = median(series((s) => s.quickFloorSeconds));
  const targets = checkTargets({
    sizeBytes: disks.sizeBytes,
    changePercent: options.changePercent,
    changedBytes: disks.changedBytes,
    oursSeconds,
    oursSentBytes: m.ours.result.bytesSent,
    quickSeconds,
    rsyncSeconds,
    readLimitSeconds,
  });
  const layout = layoutBytes(disks.segments);
  return {
    // The fields the issue asks for.
    size_bytes: disks.sizeBytes,
    changed_bytes: disks.changedBytes,
    ours_s: round(oursSeconds),
    ours_sent_bytes: m.ours.result.bytesSent,
    quick_s: round(quickSeconds),
    quick_sent_bytes: m.quick.result.bytesSent,
    verify_s: round(m.verify.seconds),
    rsync_s: round(rsyncSeconds),
    rsync_sent_bytes: m.rsync.bytesSent + m.rsync.bytesReceived,
    qemu_compare_s: round(m.compare.seconds),
    read_limit_s: round(readLimitSeconds),
    cold: m.cold,
    verified: m.verify.verified,
    // Context. The four times above are medians over the rounds; every round's figure is here.
    quick_io_floor_s: round(quickFloorSeconds),
    rounds: m.samples.length,
    samples: {
      ours_s: series((s) => round(s.oursSeconds)),
      quick_s: series((s) => round(s.quickSeconds)),
      rsync_s: series((s) => round(s.rsyncSeconds)),
      read_limit_s: series((s) => round(s.readLimitSeconds)),
      quick_io_floor_s: series((s) => round(s.quickFloorSeconds)),
    },
    change_percent: options.changePercent,
    changed_blocks: disks.changedBlocks.length,
    seed: options.seed,
    layout_bytes: layout,
    targets_met: targets.every((t) => t.met),
    targets: targets.map((t) => ({ rule: t.rule, limit: round(t.limit), actual: round(t.actual), met: t.met })),
    ours_sync_s: round(m.ours.result.seconds),
    ours_cpu_s: { node: round(m.ours.cpu.self, 2), storage_daemons: round(m.ours.cpu.children, 2) },
    verify_cpu_s: { node: round(m.verify.cpu.self, 2), storage_daemons: round(m.verify.cpu.children, 2) },
    ours_bytes_changed: m.ours.result.bytesChanged,
    ours_source_bytes_read: m.ours.result.sourceBytesRead,
    ours_target_bytes_read: m.ours.result.targetBytesRead,
    ours_bytes_written: m.ours.result.bytesWritten,
    ours_zero_bytes_skipped: m.ours.result.zeroBytesSkipped,
    quick_regions_s: round(m.quick.regionsSeconds),
    quick_regions_bytes: m.quick.regions.reduce((n, r) => n + r.length, 0),
    quick_source_bytes_read: m.quick.result.sourceBytesRead,
    quick_verified: m.quickVerified,
    verify_bytes_read: m.verify.result.bytesRead,
    rsync_bytes_sent: m.rsync.bytesSent,
    rsync_bytes_received: m.rsync.bytesReceived,
    rsync_verified: m.samples.every((s) => s.rsyncVerified),
    qemu_compare_identical: m.compare.identical,
    build_s: round(m.buildSeconds, 1),
    versions: {
      node: process.version,
      qemu: toolVersion("qemu-img", ["--version"]),
      rsync: toolVersion("rsync", ["--version"]),
    },
  };
}

type Report = ReturnType<typeof buildReport>;

function renderHuman(r: Report): string {
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
  const rows = [
    [
      "ours: full diff + transfer + read-back",
      formatSeconds(r.ours_s),
      formatBytes(r.ours_sent_bytes),
      `${ratio(r.ours_s, r.rsync_s)} rsync's time, ${ratio(r.ours_s, r.read_limit_s)} the read floor`,
    ],
    [
      "quick: CBT regions + transfer + read-back",
      formatSeconds(r.quick_s),
      formatBytes(r.quick_sent_bytes),
      `${ratio(r.quick_s, r.ours_s)} ours' time; CBT lookup ${formatSeconds(r.quick_regions_s)}`,
    ],
    [
      "quick's I/O floor (qemu-img bench, as many blocks)",
      formatSeconds(r.quick_io_floor_s),
      "–",
      `${ratio(r.quick_io_floor_s, r.ours_s)} ours' time: the least any quick rollback needs here`,
    ],
    ["verify: sha256 of both disks", formatSeconds(r.verify_s), "–", r.verified ? "digests equal" : "DIGESTS DIFFER"],
    [
      "rsync --inplace --no-whole-file (pipe)",
      formatSeconds(r.rsync_s),
      formatBytes(r.rsync_sent_bytes),
      `sent + received; ${ratio(r.rsync_sent_bytes, r.changed_bytes)} the changed bytes`,
    ],
    [
      "qemu-img compare (synced pair, full read)",
      formatSeconds(r.qemu_compare_s),
      "–",
      r.qemu_compare_identical ? "identical" : "DIFFERENT",
    ],
    ["read floor: dd of both raw copies", formatSeconds(r.read_limit_s), "–", ""],
  ];
  const header =
    `data-plane benchmark: ${formatBytes(r.size_bytes)} disks, ${r.change_percent}% of 64 KiB blocks changed ` +
    `(${r.changed_blocks} blocks, ${formatBytes(r.changed_bytes)}), page cache dropped before each part: ${r.cold ? "yes" : "no"}` +
    (r.rounds > 1
      ? `\nmedians of ${r.rounds} rounds; each round: ${r.samples.ours_s.map((o, i) => `ours ${o} s, quick ${r.samples.quick_s[i]} s, rsync ${r.samples.rsync_s[i]} s, floor ${r.samples.read_limit_s[i]} s, quick floor ${r.samples.quick_io_floor_s[i]} s`).join(" | ")}`
      : "");
  const targets = r.targets.map(
    (t) => `  ${t.met ? "met    " : "NOT met"}  ${t.rule}  (limit ${t.limit}, actual ${t.actual})`,
  );
  const cores = os.availableParallelism();
  const cpu = (label: string, c: { node: number; storage_daemons: number }) =>
    `  ${label}: node ${formatSeconds(c.node)}, storage daemons ${formatSeconds(c.storage_daemons)} ` +
    `(on ${cores} cores: ≥ ${formatSeconds((c.node + c.storage_daemons) / cores)} of wall time)`;
  return [
    header,
    "",
    renderTable(["part", "time", "sent", "note"], rows, [1, 2]),
    "",
    r.rounds > 1 ? "CPU time (last round):" : "CPU time:",
    cpu("ours", r.ours_cpu_s),
    cpu("verify", r.verify_cpu_s),
    "",
    "targets:",
    ...targets,
  ].join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-dataplane failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
