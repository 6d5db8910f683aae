// Progress for long passes: a timer reports at least once a second whether or not I/O completes (a stalled disk
// shows as a falling rate, not as silence), and the rate is measured over a moving window so the ETA follows
// changes in speed (zero regions fly by, changed regions crawl).
import type { SyncProgress } from "./types";

const REPORT_EVERY_MS = 500;
const RATE_WINDOW_MS = 5_000;

interface Sample {
  at: number;
  scanned: number;
}

export class ProgressMeter {
  phase: SyncProgress["phase"];
  bytesScanned: number;
  bytesChanged = 0;
  bytesSent = 0;
  private readonly samples: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly onProgress: ((p: SyncProgress) => void) | undefined,
    phase: SyncProgress["phase"],
    readonly bytesToScan: number,
    /** Scanned by earlier runs (resume): counted as done, not in the rate. */
    bytesScannedBefore = 0,
  ) {
    this.phase = phase;
    this.bytesScanned = bytesScannedBefore;
    this.samples.push({ at: performance.now(), scanned: bytesScannedBefore });
  }

  start(): this {
    if (this.onProgress && !this.timer) {
      this.timer = setInterval(() => this.report(), REPORT_EVERY_MS);
      // Progress must never be what keeps a process alive.
      this.timer.unref();
    }
    this.report();
    return this;
  }

  /** Stops the timer and sends the final report. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.report();
  }

  /** Stops reporting without a final report (the pass failed). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  report(): void {
    if (!this.onProgress) return;
    const now = performance.now();
    this.samples.push({ at: now, scanned: this.bytesScanned });
    // Keep one sample at or beyond the window's start, so the window always spans RATE_WINDOW_MS once possible.
    while (this.samples.length > 2 && now - (this.samples[1] as Sample).at >= RATE_WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0] as Sample;
    const seconds = (now - oldest.at) / 1000;
    const rate = seconds > 0 ? (this.bytesScanned - oldest.scanned) / seconds : 0;
    const remaining = Math.max(0, this.bytesToScan - this.bytesScanned);
    this.onProgress({
      phase: this.phase,
      bytesScanned: this.bytesScanned,
      bytesToScan: this.bytesToScan,
      bytesChanged: this.bytesChanged,
      bytesSent: this.bytesSent,
      rateBytesPerSec: Math.round(rate),
      etaSeconds: remaining === 0 ? 0 : rate > 0 ? remaining / rate : null,
    });
  }
}
