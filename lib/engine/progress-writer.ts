// Throttled progress events for one attempt of a long step. Transfers and verification report progress many
// times a second; the session log and the browsers following it need about one report a second, the latest.
import type { ProgressReport } from "@/lib/events/catalog";

/** At most one progress event a second (the latest wins), written in order, never after the step ended. */
export class ProgressWriter {
  private latest: ProgressReport | null = null;
  private lastWrite = 0;
  private writing: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly write: (report: ProgressReport) => Promise<unknown>) {}

  offer(report: ProgressReport): void {
    if (this.stopped) return;
    this.latest = report;
    const wait = 1000 - (Date.now() - this.lastWrite);
    if (wait <= 0) this.push();
    else
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.push();
      }, wait);
  }

  private push(): void {
    const report = this.latest;
    if (!report || this.stopped) return;
    this.latest = null;
    this.lastWrite = Date.now();
    this.writing = this.writing.then(() => this.write(report)).catch(() => {});
  }

  /** Writes the latest report still waiting, then stops: the step succeeded. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.push();
    this.stopped = true;
    await this.writing;
  }

  /** Drops whatever waits: the step failed or was stopped. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
