// The provider benchmark: what the libvirt provider costs next to the qemu provider.
//   1. per-operation latency of both providers on the same VM shape (no OS, 2 × 64 MiB qcow2), --rounds rounds
//      (default 5) taking turns;
//   2. the data-plane benchmark's full diff (its disks, built once) read three ways: the qemu provider's export,
//      the libvirt provider's exports of two domains' files, and libvirt's own pull-mode backup export;
//      --rounds rounds (default 3), fresh target each round, every target checked with qemu-img compare.
//
//   npm run bench:providers -- [--size 2G] [--change 1] [--rounds N] [--part all|latency|diff] [--json]
//                              [--uri qemu:///system] [--dir <parent>] [--seed <s>] [--keep] [--warm]
//
// --json prints exactly one JSON object on stdout (tables and progress go to stderr). Everything made — VMs,
// domains (names start with a random fbbench-<tag>), storage daemons, folders — is removed at the end, also
// after a failure or Ctrl-C; --keep leaves the diff's disk folder behind.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildBenchDisks } from "@/lib/bench/bench-disks";
import { dropPageCache, settleWrites } from "@/lib/bench/cache";
import { parseFlags, parseSize } from "@/lib/bench/cli";
import { formatBytes, formatSeconds } from "@/lib/bench/format";
import { makeSubjects } from "@/lib/bench/latency-subjects";
import { benchTag, removeTaggedDomains } from "@/lib/bench/libvirt-domains";
import {
  cleanupLibvirtDiff,
  type PeerKey,
  type PeerRun,
  prepareLibvirtDiff,
  runBackupExport,
  runLibvirtProvider,
  runQemuProvider,
} from "@/lib/bench/libvirt-diff";
import { measureLatency } from "@/lib/bench/provider-latency";
import { diffReport, latencyReport, renderDiff, renderLatency } from "@/lib/bench/provider-report";
import { timed } from "@/lib/bench/timing";
import { LibvirtHost } from "@/lib/providers/libvirt/host";
import { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { stopProcessesMentioning } from "@/lib/providers/qemu/processes";

interface Options {
  part: "all" | "latency" | "diff";
  latencyRounds: number;
  diffRounds: number;
  sizeBytes: number;
  changePercent: number;
  uri: string;
  json: boolean;
  parentDir: string;
  seed: string;
  keep: boolean;
  warm: boolean;
}

const USAGE =
  "usage: bench-providers [--size 2G] [--change 1] [--rounds N (latency 5, diff 3)] [--part all|latency|diff] " +
  "[--json] [--uri qemu:///system] [--dir <parent>] [--seed <s>] [--keep] [--warm]\n";

function parseOptions(argv: readonly string[]): Options {
  const flags = parseFlags(argv, {
    values: ["size", "change", "rounds", "part", "uri", "dir", "seed"],
    booleans: ["json", "keep", "warm", "help"],
  });
  if (flags.has("help")) {
    process.stderr.write(USAGE);
    process.exit(0);
  }
  const text = (name: string, fallback: string) => {
    const value = flags.get(name);
    return typeof value === "string" ? value : fallback;
  };
  const changePercent = Number(text("change", "1"));
  if (!Number.isFinite(changePercent) || changePercent < 0 || changePercent > 100)
    throw new Error("--change must be a percentage (0-100)");
  const rounds = flags.has("rounds") ? Number(text("rounds", "")) : undefined;
  if (rounds !== undefined && (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 20))
    throw new Error("--rounds must be a whole number from 1 to 20");
  const part = text("part", "all");
  if (part !== "all" && part !== "latency" && part !== "diff") throw new Error("--part must be all, latency or diff");
  return {
    part,
    latencyRounds: rounds ?? 5,
    diffRounds: rounds ?? 3,
    sizeBytes: parseSize(text("size", "2G")),
    changePercent,
    uri: text("uri", "qemu:///system"),
    json: flags.has("json"),
    parentDir: path.resolve(text("dir", os.tmpdir())),
    seed: text("seed", "1"),
    keep: flags.has("keep"),
    warm: flags.has("warm"),
  };
}

const say = (message: string) => process.stderr.write(`${message}\n`);

/** Clean-ups of whatever is alive right now; run on the way out, and on Ctrl-C (newest first). */
const cleanups: Array<() => Promise<unknown>> = [];
async function withCleanup<T>(cleanup: () => Promise<unknown>, work: () => Promise<T>): Promise<T> {
  cleanups.push(cleanup);
  try {
    return await work();
  } finally {
    cleanups.splice(cleanups.indexOf(cleanup), 1);
    await cleanup();
  }
}

function toolVersion(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8" }).split("\n")[0]?.trim() ?? "";
  } catch {
    return "unknown";
  }
}

async function latencyPart(options: Options) {
  const { tag, subjects } = await makeSubjects(options.uri);
  say(`latency: ${options.latencyRounds} round(s) per provider (VMs named ${tag}-…) …`);
  const results = await withCleanup(
    () => Promise.all(subjects.map((s) => s.cleanup())),
    () =>
      measureLatency(subjects, options.latencyRounds, (subject, round) =>
        say(`  ${subject.label}, round ${round} of ${options.latencyRounds}`),
      ),
  );
  return latencyReport(results, options.latencyRounds);
}

async function diffPart(options: Options) {
  await mkdir(options.parentDir, { recursive: true });
  // Short names: the storage daemons' and the backup job's unix socket paths must stay under 108 bytes.
  const dir = await mkdtemp(path.join(options.parentDir, "bpd-"));
  const socketDir = await mkdtemp(path.join(os.tmpdir(), "bps-"));
  const host = new LibvirtHost(options.uri);
  const tag = benchTag();
  const cleanup = async () => {
    await removeTaggedDomains(host, tag).catch((err: unknown) => say(`clean-up: ${String(err)}`));
    for (const folder of [dir, socketDir]) await stopProcessesMentioning(folder);
    if (options.keep) say(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
    await rm(socketDir, { recursive: true, force: true });
    host.close();
  };
  return withCleanup(cleanup, async () => {
    say(`diff: building a ${formatBytes(options.sizeBytes)} source and target in ${dir} (seed ${options.seed}) …`);
    const build = await timed(() =>
      buildBenchDisks({ dir, sizeBytes: options.sizeBytes, changePercent: options.changePercent, seed: options.seed }),
    );
    const disks = build.value;
    say(`  done in ${formatSeconds(build.seconds)}: ${disks.changedBlocks.length} blocks of 64 KiB changed`);
    let cold = !options.warm;
    const beforeTimedPart = async () => {
      await settleWrites();
      if (!options.warm) cold = (await dropPageCache()) && cold;
    };
    const provider = new LibvirtProvider({ uri: options.uri, storageDir: dir, runDir: socketDir });
    const context = await prepareLibvirtDiff({ disks, host, provider, tag, socketDir, beforeTimedPart });
    const runs: Record<PeerKey, PeerRun[]> = { qemu_provider: [], libvirt_provider: [], libvirt_backup: [] };
    try {
      // The three take turns round by round, so a slow spell of the machine falls on all of them alike.
      for (let round = 1; round <= options.diffRounds; round++) {
        const of = `(round ${round} of ${options.diffRounds})`;
        say(`  qemu provider: fullSync ${of} …`);
        runs.qemu_provider.push(await runQemuProvider(context));
        say(`  libvirt provider: openDiskForRead → openSnapshotForWrite ${of} …`);
        runs.libvirt_provider.push(await runLibvirtProvider(context, round));
        say(`  libvirt pull-mode backup export → storage-daemon target ${of} …`);
        runs.libvirt_backup.push(await runBackupExport(context, round));
      }
    } finally {
      await cleanupLibvirtDiff(context).catch(() => {});
    }
    return diffReport({
      disks,
      changePercent: options.changePercent,
      seed: options.seed,
      buildSeconds: build.seconds,
      cold,
      runs,
    });
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  process.once("SIGINT", () => {
    say("interrupted: cleaning up …");
    void Promise.allSettled([...cleanups].reverse().map((c) => c())).finally(() => process.exit(130));
  });
  // Fails early, with the way out, when there is no daemon (part 1 needs it as much as part 2).
  await new LibvirtHost(options.uri).virsh(["version"]).catch((err: unknown) => {
    throw new Error(`libvirt does not answer on ${options.uri} (bash scripts/libvirt-host.sh up): ${String(err)}`);
  });

  const latency = options.part === "diff" ? null : await latencyPart(options);
  const diff = options.part === "latency" ? null : await diffPart(options);
  const report = {
    latency,
    diff,
    versions: {
      node: process.version,
      qemu: toolVersion("qemu-img", ["--version"]),
      libvirt: toolVersion("virsh", ["--version"]),
    },
  };
  say("");
  if (latency) say(`${renderLatency(latency)}\n`);
  if (diff) say(renderDiff(diff));
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  if (diff && !diff.verified) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-providers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
