// R5: the link between the sites cut, stalled and slowed. The target's NBD connection goes through a loopback
// proxy (testing/link-proxy.ts) to a real qemu-storage-daemon. A cut or a stall partway through a transfer must
// end it with a transient error — a stall within the request timeout, not never — and a transfer reopened on a
// good link must resume from the last checkpoint and leave the target equal to the source (I1). A slow link
// must simply take longer.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NbdClient } from "@/lib/nbd";
import { ProviderError } from "@/lib/providers/errors";
import { NbdDiskHandle } from "@/lib/providers/chain-export/disk-handle";
import { startStorageDaemon, stopLeftoverStorageDaemon } from "@/lib/providers/chain-export/storage-daemon";
import type { DiskHandle } from "@/lib/providers/types";
import { type SyncCheckpoint, syncDisk, verifyDisk } from "./index";
import { LinkProxy } from "./testing/link-proxy";
import { BLOCK, DiskLab, type DiskPair, MiB, fillNoise, makePair, noise, seededRandom } from "./testing/disks";

const SIZE = 32 * MiB;
const RANGE = 2 * MiB;
const CHANGED_BLOCKS = 96;
/** The per-request limit on the proxied link: how long a stall may go unnoticed. */
const REQUEST_TIMEOUT_MS = 1500;
let lab: DiskLab;
let common: string;
let links = 0;

beforeAll(async () => {
  lab = await DiskLab.create("failback-dataplane-link-");
  common = await lab.image("common", SIZE);
  await lab.writeInto([common], (disk) => fillNoise(disk, 0, SIZE, 7));
});

afterAll(async () => {
  await lab.cleanup();
});

async function pair(name: string): Promise<DiskPair> {
  const random = seededRandom(name.length * 31);
  const pair = await makePair(lab, name, SIZE, {
    common,
    source: async (disk) => {
      for (let i = 0; i < CHANGED_BLOCKS; i++)
        await disk.write(Math.floor(random() * (SIZE / BLOCK)) * BLOCK, noise(BLOCK, 900 + i));
    },
  });
  // The transfer below opens the target itself, across the proxied link.
  await lab.close(pair.target);
  return pair;
}

interface Link {
  target: DiskHandle;
  proxy: LinkProxy;
  close(): Promise<void>;
}

/** The pair's target (its working overlay) exported by a daemon of its own and reached through a new proxy. */
async function openTargetAcrossLink(p: DiskPair): Promise<Link> {
  const n = links++;
  const exportName = `link${n}`;
  await stopLeftoverStorageDaemon(lab.runDir, exportName);
  const daemon = await startStorageDaemon({
    files: [p.targetBase, p.targetOverlay],
    runDir: lab.runDir,
    exportName,
    writable: true,
  });
  const proxy = await LinkProxy.start(path.join(lab.runDir, `proxy${n}.sock`), daemon.socketPath);
  const client = await NbdClient.connect({
    socketPath: proxy.socketPath,
    exportName,
    metaContexts: ["base:allocation"],
    connectTimeoutMs: 5000,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const target = new NbdDiskHandle(client, daemon, `target across link ${n}`);
  return {
    target,
    proxy,
    close: async () => {
      proxy.cut(); // a stalled link would otherwise hold the client's soft close for its whole timeout
      await target.close();
      await proxy.close();
    },
  };
}

/** A transfer that meets `fault` once its third range is checkpointed; then one on a good link that finishes it. */
async function faultThenResume(name: string, fault: (proxy: LinkProxy) => void) {
  const p = await pair(name);
  const first = await openTargetAcrossLink(p);
  const persisted: SyncCheckpoint[] = [];
  let faultAt = 0;
  const failed = await syncDisk({
    source: p.source,
    target: first.target,
    rangeBytes: RANGE,
    onCheckpoint: async (cp) => {
      persisted.push(cp);
      if (persisted.length === 3) {
        fault(first.proxy);
        faultAt = Date.now();
      }
    },
  }).then(
    () => null,
    (err: unknown) => err,
  );
  const noticedAfterMs = Date.now() - faultAt;
  await first.close();

  const second = await openTargetAcrossLink(p);
  const checkpoint = persisted.at(-1) as SyncCheckpoint;
  const resumed = await syncDisk({ source: p.source, target: second.target, rangeBytes: RANGE, checkpoint });
  const verified = await verifyDisk(p.source, second.target);
  await second.close();
  return { failed, noticedAfterMs, checkpoint, resumed, verified };
}

describe("R5: the link between the sites", () => {
  it("cut mid-transfer: a transient error at once, then a resume from the last checkpoint to equal content", async () => {
    const run = await faultThenResume("cut", (proxy) => proxy.cut());
    expect(run.failed).toBeInstanceOf(ProviderError);
    expect(run.failed).toMatchObject({ transient: true });
    expect((run.failed as Error).message).toMatch(/connection lost/);
    expect(run.resumed.resumedFrom).toBe(run.checkpoint.nextOffset);
    expect(run.verified.ok).toBe(true);
    console.log(`[R5] cut: noticed after ${run.noticedAfterMs} ms; resumed from ${run.resumed.resumedFrom} bytes`);
  });

  it("stalled mid-transfer: noticed by the request timeout, then a resume from the last checkpoint to equal content", async () => {
    const run = await faultThenResume("stall", (proxy) => proxy.stall());
    expect(run.failed).toBeInstanceOf(ProviderError);
    expect(run.failed).toMatchObject({ transient: true });
    expect((run.failed as Error).message).toMatch(/TIMEOUT|no reply within/);
    // Noticed by the limit set for the link, not by anything slower: a request already waiting when the stall
    // began counts from its own start, so the failure comes at most one timeout (plus scheduling) after it.
    expect(run.noticedAfterMs).toBeLessThan(2 * REQUEST_TIMEOUT_MS + 1000);
    expect(run.resumed.resumedFrom).toBe(run.checkpoint.nextOffset);
    expect(run.verified.ok).toBe(true);
    console.log(
      `[R5] stall: noticed after ${run.noticedAfterMs} ms (request timeout ${REQUEST_TIMEOUT_MS} ms); resumed from ${run.resumed.resumedFrom} bytes`,
    );
  });

  it("slowed: the transfer goes through at the link's pace and the target equals the source", async () => {
    const p = await pair("slow");
    const link = await openTargetAcrossLink(p);
    link.proxy.slow(16 * MiB);
    const started = Date.now();
    const result = await syncDisk({ source: p.source, target: link.target, rangeBytes: RANGE });
    const seconds = (Date.now() - started) / 1000;
    const verified = await verifyDisk(p.source, link.target);
    const forwarded = link.proxy.forwardedBytes;
    await link.close();
    expect(verified.ok).toBe(true);
    // The changed blocks crossed the slowed link (writes and their framing), none of it skipped.
    expect(forwarded).toBeGreaterThanOrEqual(result.bytesWritten);
    console.log(`[R5] slow: ${result.bytesWritten} bytes written over a 16 MiB/s link in ${seconds.toFixed(2)} s`);
  });
});
