// syncDisk: makes the target's content equal the source's, sending only differing blocks.
//
// The disk is cut into checkpoint ranges (64 MiB). Within a range, the allocation maps decide what needs no
// read at all; the rest is read in ~1 MiB chunks on both sides, several in flight per side, hashed per block
// (xxh64) and compared; differing runs are written straight from the source buffer. A range is done only when
// its writes are flushed and read back intact; then its checkpoint is handed to the caller. Ranges finish
// strictly in disk order, but reading the next range overlaps the previous one's flush and read-back.
import type { DiskHandle, Region } from "@/lib/providers/types";
import { chunkRegions, normalizeRegions, totalBytes } from "./regions";
import { type WrittenRun, blockDigests, diffChunk } from "./block-diff";
import { DATAPLANE_SENTINEL } from "./boundary-sentinel";
import { alignToBlocks, blockCount, checkpointRanges } from "./block-geometry";
import { BufferPool, type PooledRead, readPooled } from "./buffer-pool";
import { Semaphore, forEachConcurrently, settleAll } from "./concurrency";
import { ReadBackMismatchError, abortError } from "./errors";
import { ProgressMeter } from "./progress";
import { type ChunkPlan, type RangePlan, rangePlanner, workUnits } from "./range-plan";
import { type ReadBackContext, notZeroAfterZeroing, readBackMismatches } from "./read-back";
import { type SyncSettings, resolveSyncSettings } from "./sync-settings";
import type { SyncCheckpoint, SyncOptions, SyncResult } from "./types";
import { DIGEST_BYTES, MAP_EXTENT_BYTES, RUN_HEADER_BYTES, ZERO_COMMAND_BYTES } from "./wire-model";

/**
 * Ranges whose I/O may be under way at once: the one being flushed and read back, and the next being read.
 * More would only hold more unverified writes that a crash could make us send again.
 */
const RANGES_IN_FLIGHT = 2;

/** Write slots per read slot: scattered writes (quick rollback, 10 % change) wait on the target longer than reads. */
const WRITES_PER_READ_SLOT = 2;

/** One range's work and what it adds to the totals once it is done (never before: see SyncCheckpoint). */
interface RangeWork {
  plan: RangePlan;
  tasks: Promise<void>[];
  written: WrittenRun[];
  zeroed: Region[];
  bytesChanged: number;
  blocksChanged: number;
  bytesSent: number;
}

export async function syncDisk(options: SyncOptions): Promise<SyncResult> {
  // async, so that invalid options reject like every other failure instead of throwing at the call.
  return new DiskSync(options).run();
}

class DiskSync {
  private readonly source: DiskHandle;
  private readonly target: DiskHandle;
  private readonly settings: SyncSettings;
  private readonly meter: ProgressMeter;
  /** Chunks being read and compared. */
  private readonly slots: Semaphore;
  /** Chunks whose reads are done and whose writes are under way (each holds its source buffer until then). */
  private readonly writeSlots: Semaphore;
  private readonly pool: BufferPool;
  private readonly startedAt = performance.now();
  /** Set on every sync, so no bundler can drop it while this class is bundled (see ./boundary-sentinel). */
  readonly boundarySentinel = DATAPLANE_SENTINEL;
  /** Totals of finished ranges, earlier runs included: exactly what a checkpoint records. */
  private readonly committed: { bytesChanged: number; bytesSent: number };
  private readonly counters = {
    blocksChanged: 0,
    zeroBytesSkipped: 0,
    bytesZeroed: 0,
    zeroCommands: 0,
    sourceBytesRead: 0,
    targetBytesRead: 0,
    bytesWritten: 0,
    rangesDone: 0,
  };
  private failure: { error: unknown } | undefined;
  private aborted = false;

  constructor(private readonly options: SyncOptions) {
    this.source = options.source;
    this.target = options.target;
    this.settings = resolveSyncSettings(options);
    this.committed = { ...this.settings.carried };
    this.slots = new Semaphore(this.settings.concurrency);
    this.writeSlots = new Semaphore(this.settings.concurrency * WRITES_PER_READ_SLOT);
    this.pool = new BufferPool(this.settings.chunkBytes);
    this.meter = new ProgressMeter(
      options.onProgress,
      "scan",
      totalBytes(this.settings.wanted),
      this.settings.wantedBefore,
    );
    this.meter.bytesChanged = this.committed.bytesChanged;
    this.meter.bytesSent = this.committed.bytesSent;
  }

  async run(): Promise<SyncResult> {
    const { signal } = this.options;
    if (signal?.aborted) throw abortError(signal);
    this.meter.start();
    try {
      await this.transfer();
    } catch (error) {
      this.fail(error);
    }
    if (this.failure) {
      this.meter.stop();
      throw this.failure.error;
    }
    if (this.aborted && signal) {
      this.meter.stop();
      throw abortError(signal);
    }
    this.meter.finish();
    return this.result();
  }

  private async transfer(): Promise<void> {
    const { startOffset, diskBytes, rangeBytes, blockSize, chunkBytes, wanted } = this.settings;
    if (startOffset >= diskBytes) return;
    // Both maps once, up front: cheap (milliseconds per GiB), and our own writes only touch ranges already planned.
    const [sourceMap, targetMap] = await settleAll([
      this.source.dataRegions(startOffset, diskBytes - startOffset),
      this.target.dataRegions(startOffset, diskBytes - startOffset),
    ]);
    const planner = rangePlanner({
      wanted,
      // A block with any data in it may be non-zero as a whole.
      sourceData: alignToBlocks(sourceMap, blockSize, diskBytes),
      targetData: alignToBlocks(targetMap, blockSize, diskBytes),
      chunkBytes,
    });
    this.meter.phase = "transfer";

    const finished: Promise<void>[] = [];
    let previous: Promise<void> = Promise.resolve();
    for (const plan of workUnits(planner, checkpointRanges(startOffset, diskBytes, rangeBytes), rangeBytes)) {
      // The safe point: nothing of this unit has started, everything before it will finish and checkpoint.
      if (this.shouldStop()) break;
      await finished[finished.length - RANGES_IN_FLIGHT];
      // That wait may have been long: ask again.
      if (this.shouldStop()) break;
      const work = this.startRange(plan);
      for (const zero of plan.zeroRegions)
        if (!this.failure) await this.startTask(work, () => this.zeroRegion(work, zero));
      for (const chunk of plan.chunks)
        if (!this.failure) await this.startTask(work, (readDone) => this.syncChunk(work, chunk, readDone));
      // Chained: range k's checkpoint is never handed out before range k-1's.
      const done = previous.then(() => this.finishRange(work));
      finished.push(done);
      previous = done;
    }
    await previous;
  }

  private startRange(plan: RangePlan): RangeWork {
    const work: RangeWork = {
      plan,
      tasks: [],
      written: [],
      zeroed: [],
      bytesChanged: 0,
      blocksChanged: 0,
      bytesSent: 0,
    };
    this.counters.zeroBytesSkipped += plan.skippedBytes;
    this.meter.bytesScanned += plan.skippedBytes;
    this.send(work, plan.mapExtents * MAP_EXTENT_BYTES);
    return work;
  }

  /**
   * Waits for a free read slot; a task's failure stops the sync, and is reported once everything has settled.
   * A task may hand its read slot back early (`readDone`) once only its writes are left, so that reading goes on
   * while the target absorbs them; the write slots bound how much waits to be written.
   */
  private async startTask(work: RangeWork, task: (readDone: () => void) => Promise<void>): Promise<void> {
    await this.slots.acquire();
    if (this.failure) {
      this.slots.release();
      return;
    }
    let holding = true;
    const readDone = () => {
      if (!holding) return;
      holding = false;
      this.slots.release();
    };
    work.tasks.push(
      task(readDone)
        .catch((error: unknown) => this.fail(error))
        .finally(readDone),
    );
  }

  private async syncChunk(work: RangeWork, chunk: ChunkPlan, readDone: () => void): Promise<void> {
    const reads: PooledRead[] = [];
    const pooled = async (handle: DiskHandle, offset: number, length: number) => {
      const read = await readPooled(handle, this.pool, offset, length);
      reads.push(read);
      return read.data;
    };
    try {
      const [source, parts] = await settleAll([
        pooled(this.source, chunk.offset, chunk.length),
        settleAll(
          chunk.targetReads.map(async (r) => ({
            offset: r.offset,
            data: await pooled(this.target, r.offset, r.length),
          })),
        ),
      ]);
      await this.applyChunk(work, chunk, source, parts, readDone);
    } finally {
      // settleAll waits for every read and write to settle, so no buffer is still in use here.
      for (const read of reads) read.release();
    }
  }

  private async applyChunk(
    work: RangeWork,
    chunk: ChunkPlan,
    source: Buffer,
    parts: { offset: number; data: Buffer }[],
    readDone: () => void,
  ): Promise<void> {
    this.counters.sourceBytesRead += chunk.length;
    for (const part of parts) this.counters.targetBytesRead += part.data.length;

    const diff = diffChunk(chunk, source, parts, this.settings.blockSize);
    this.send(work, diff.targetDigests * DIGEST_BYTES);
    if (diff.runs.length > 0) {
      await this.writeSlots.acquire();
      readDone();
      try {
        await settleAll(
          diff.runs.map((run) =>
            this.target.write(
              run.offset,
              source.subarray(run.offset - chunk.offset, run.offset - chunk.offset + run.length),
            ),
          ),
        );
      } finally {
        this.writeSlots.release();
      }
    }
    for (const run of diff.runs) {
      this.send(work, RUN_HEADER_BYTES + run.length);
      this.change(work, run.length, run.digests.length);
      this.counters.bytesWritten += run.length;
    }
    work.written.push(...diff.runs);
    this.meter.bytesScanned += chunk.length;
  }

  private async zeroRegion(work: RangeWork, region: Region): Promise<void> {
    await this.zeroCommand(work, region);
    work.zeroed.push(region);
    this.change(work, region.length, blockCount(region.length, this.settings.blockSize));
    this.counters.bytesZeroed += region.length;
    this.meter.bytesScanned += region.length;
  }

  private async zeroCommand(work: RangeWork, region: Region): Promise<void> {
    await this.target.writeZeroes(region.offset, region.length);
    this.send(work, ZERO_COMMAND_BYTES);
    this.counters.zeroCommands++;
  }

  private async finishRange(work: RangeWork): Promise<void> {
    await Promise.all(work.tasks);
    if (this.failure) return;
    try {
      if (work.written.length > 0 || work.zeroed.length > 0) {
        await this.target.flush();
        await this.readBackOrRewrite(work);
      }
      this.committed.bytesChanged += work.bytesChanged;
      this.committed.bytesSent += work.bytesSent;
      this.counters.blocksChanged += work.blocksChanged;
      this.counters.rangesDone++;
      const { range } = work.plan;
      const checkpoint: SyncCheckpoint = {
        version: 1,
        blockSize: this.settings.blockSize,
        rangeBytes: this.settings.rangeBytes,
        nextOffset: range.offset + range.length,
        bytesChanged: this.committed.bytesChanged,
        bytesSent: this.committed.bytesSent,
      };
      await this.options.onCheckpoint?.(checkpoint);
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Reads back what the range wrote. A mismatch gets one rewrite — from the source again, not from memory, so
   * a buffer corrupted on our side is not faithfully rewritten — and a second mismatch fails the sync.
   */
  private async readBackOrRewrite(work: RangeWork): Promise<void> {
    const ctx = this.readBackContext();
    const badData = await readBackMismatches(ctx, work.written);
    const badZeroes = await notZeroAfterZeroing(ctx, work.zeroed);
    if (badData.length === 0 && badZeroes.length === 0) return;

    const rewritten = await this.rewriteFromSource(work, badData);
    for (const region of badZeroes) await this.zeroCommand(work, region);
    await this.target.flush();
    const stillBad = normalizeRegions([
      ...(await readBackMismatches(ctx, rewritten)),
      ...(await notZeroAfterZeroing(ctx, badZeroes)),
    ]);
    if (stillBad.length > 0) throw new ReadBackMismatchError(stillBad[0] as Region, stillBad);
  }

  private async rewriteFromSource(work: RangeWork, regions: Region[]): Promise<WrittenRun[]> {
    const runs: WrittenRun[] = [];
    await forEachConcurrently(
      chunkRegions(regions, this.settings.chunkBytes),
      this.settings.concurrency,
      async (piece) => {
        const data = await this.source.read(piece.offset, piece.length);
        this.counters.sourceBytesRead += piece.length;
        await this.target.write(piece.offset, data);
        this.counters.bytesWritten += piece.length;
        this.send(work, RUN_HEADER_BYTES + piece.length);
        runs.push({ ...piece, digests: blockDigests(data, this.settings.blockSize) });
      },
    );
    return runs;
  }

  private readBackContext(): ReadBackContext {
    return {
      target: this.target,
      blockSize: this.settings.blockSize,
      chunkBytes: this.settings.chunkBytes,
      concurrency: this.settings.concurrency,
      pool: this.pool,
      onRead: (bytes) => (this.counters.targetBytesRead += bytes),
    };
  }

  private send(work: RangeWork, bytes: number): void {
    work.bytesSent += bytes;
    this.meter.bytesSent += bytes;
  }

  private change(work: RangeWork, bytes: number, blocks: number): void {
    work.bytesChanged += bytes;
    work.blocksChanged += blocks;
    this.meter.bytesChanged += bytes;
  }

  /** A failure, or an abort request (remembered, so the sync rejects with an AbortError once all has settled). */
  private shouldStop(): boolean {
    if (this.failure) return true;
    if (this.options.signal?.aborted) this.aborted = true;
    return this.aborted;
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
  }

  private result(): SyncResult {
    return {
      ...this.counters,
      bytesScanned: this.meter.bytesScanned - this.settings.wantedBefore,
      bytesChanged: this.committed.bytesChanged,
      bytesSent: this.committed.bytesSent,
      resumedFrom: this.settings.startOffset,
      seconds: (performance.now() - this.startedAt) / 1000,
    };
  }
}
