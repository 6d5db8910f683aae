"use client";

import { ProgressBar } from "@/components/ui/progress-bar";
import { formatBytes, formatDuration, formatRate, utcClock } from "@/components/ui/format";
import { useSessionLive } from "./session-live";

const statusWords = { running: "running", retrying: "retrying", done: "finished", failed: "failed" } as const;

/** The VM's current (or last) long step: bytes, rate and ETA overall and per disk, as the worker reported them. */
export function ItemProgress({ itemId, vmName }: { itemId: string; vmName: string }) {
  const { state } = useSessionLive();
  const progress = state.progress[itemId];
  if (!progress) return null;
  const running = progress.status === "running" || progress.status === "retrying";
  const disks = Object.entries(progress.disks);
  return (
    <section
      aria-label={`Progress of ${vmName}`}
      data-testid="item-progress"
      data-status={progress.status}
      className="rounded-md bg-slate-50 p-3 ring-1 ring-slate-200"
    >
      <ProgressBar
        label={`${progress.title} (${statusWords[progress.status]})`}
        done={progress.bytesDone}
        total={progress.bytesTotal}
        tone={progress.status === "failed" ? "red" : running ? "teal" : "slate"}
        detail={
          <span data-testid="item-progress-bytes">
            {formatBytes(progress.bytesDone)} of {formatBytes(progress.bytesTotal)}
            {running ? ` · ${formatRate(progress.rateBytesPerSec)} · ETA ${formatDuration(progress.etaSeconds)}` : ""}
            {progress.bytesChanged !== null ? ` · ${formatBytes(progress.bytesChanged)} differed` : ""}
            {progress.bytesSent !== null ? ` · ${formatBytes(progress.bytesSent)} sent` : ""}
            {progress.disk && running ? ` · now on ${progress.disk}` : ""}
            {` · reported ${utcClock(progress.at)} UTC`}
          </span>
        }
      />
      {disks.length > 1 || (disks.length === 1 && running) ? (
        <div className="mt-3 grid gap-2 sm:grid-cols-2">
          {disks.map(([label, d]) => (
            <ProgressBar
              key={label}
              label={`Disk ${label}`}
              done={d.done}
              total={d.total}
              tone="slate"
              detail={`${formatBytes(d.done)} of ${formatBytes(d.total)}`}
            />
          ))}
        </div>
      ) : null}
    </section>
  );
}

/** A thin bar beside a running step in the timeline. */
export function StepProgress({ itemId, stepId }: { itemId: string; stepId: string }) {
  const { state } = useSessionLive();
  const progress = state.progress[itemId];
  if (!progress || progress.stepId !== stepId || progress.status === "done") return null;
  return (
    <div className="mt-1 max-w-sm">
      <ProgressBar
        label={progress.disk ? `Disk ${progress.disk}` : "Progress"}
        done={progress.bytesDone}
        total={progress.bytesTotal}
      />
    </div>
  );
}
