// NBD read throughput through the product's own path (qemu-storage-daemon + lib/nbd), one connection.
//
//   node --import tsx lib/bench/nbd-throughput.ts [--size 1G] [--request 1M] [--in-flight 16] [--rounds 3] [--cold] [--dir <dir>]
//
// Builds a fully allocated qcow2 of random data (kept in --dir between runs if given) and reads it front to back
// with a fixed number of requests in flight, two ways:
//   handle  openChainForRead → DiskHandle.read: a fresh buffer per request (what the data plane does today);
//   reuse   the same daemon and client, NbdClient.readInto with one buffer per in-flight slot, reused.
// Warm by default: the first round fills the page cache and is reported separately. Prints wall time, rate and
// this process's CPU time per GiB (the client's cost, robust against other load on the machine).
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { connectToDaemon, openChainForRead } from "@/lib/providers/chain-export/disk-access";
import { startStorageDaemon } from "@/lib/providers/chain-export/storage-daemon";
import { dropPageCache } from "./cache";
import { parseFlags, parseSize } from "./cli";
import { formatBytes, formatRate } from "./format";
import { buildRandomQcow2 } from "./images";

interface Options {
  size: number;
  request: number;
  inFlight: number;
  rounds: number;
  cold: boolean;
  dir: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const flags = parseFlags(argv, { values: ["size", "request", "in-flight", "rounds", "dir"], booleans: ["cold"] });
  const text = (name: string) => {
    const value = flags.get(name);
    return typeof value === "string" ? value : undefined;
  };
  return {
    size: parseSize(text("size") ?? "1G"),
    request: parseSize(text("request") ?? "1M"),
    inFlight: Number(text("in-flight") ?? 16),
    rounds: Number(text("rounds") ?? 3),
    cold: flags.has("cold"),
    dir: text("dir"),
  };
}

/** Reads [0, size) with `inFlight` requests outstanding at all times; `read` gets the slot number. */
async function readAll(
  read: (offset: number, length: number, slot: number) => Promise<unknown>,
  options: Options,
): Promise<{ seconds: number; cpuSeconds: number }> {
  let next = 0;
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const worker = async (slot: number) => {
    while (next < options.size) {
      const offset = next;
      next += options.request;
      await read(offset, Math.min(options.request, options.size - offset), slot);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, (_, slot) => worker(slot)));
  const cpu = process.cpuUsage(cpuBefore);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function rounds(
  label: string,
  options: Options,
  read: (offset: number, length: number, slot: number) => Promise<unknown>,
): Promise<void> {
  for (let round = 0; round <= options.rounds; round++) {
    const cold = options.cold ? await dropPageCache() : false;
    const { seconds, cpuSeconds } = await readAll(read, options);
    const name = `${label} ${round === 0 ? (cold ? "cold" : "first") : `round ${round}${cold ? " (cold)" : ""}`}`;
    const cpuPerGiB = cpuSeconds / (options.size / 2 ** 30);
    console.log(
      `${name.padEnd(22)} ${seconds.toFixed(3)} s  ${formatRate(options.size, seconds).padStart(10)}  client CPU ${cpuPerGiB.toFixed(2)} s/GiB`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), "nbd-bench-")));
  const image = path.join(dir, `random-${options.size}.qcow2`);
  try {
    const exists = await stat(image).then(
      () => true,
      () => false,
    );
    if (!exists) await buildRandomQcow2(image, options.size, dir);
    console.log(
      `image ${formatBytes(options.size)}, requests of ${formatBytes(options.request)}, ${options.inFlight} in flight`,
    );

    const disk = await openChainForRead({ files: [image], runDir: dir, exportName: "bench-handle" });
    try {
      await rounds("handle", options, (offset, length) => disk.read(offset, length));
    } finally {
      await disk.close();
    }

    const daemon = await startStorageDaemon({ files: [image], runDir: dir, exportName: "bench-reuse" });
    const client = await connectToDaemon(daemon, {});
    try {
      const buffers = Array.from({ length: options.inFlight }, () => Buffer.alloc(options.request));
      await rounds("reuse", options, (offset, length, slot) =>
        client.readInto(offset, (buffers[slot] as Buffer).subarray(0, length)),
      );
    } finally {
      await client.close();
      await daemon.stop();
    }
  } finally {
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  }
}

await main();
