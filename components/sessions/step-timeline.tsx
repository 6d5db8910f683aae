import type { FailbackStep } from "@/lib/db/schema";
import { utcClock } from "@/components/ui/format";
import { StepProgress } from "./live/item-progress";

export interface TimelineStep {
  /** The recorded step's id; null for a step that is planned but not recorded yet (its phase has not begun). */
  id: string | null;
  kind: string;
  title: string;
  state: FailbackStep["state"] | "planned";
  attempts: number;
  lastError: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const marks: Record<TimelineStep["state"], { icon: string; tone: string; label: string }> = {
  planned: { icon: "○", tone: "text-slate-400 ring-slate-200 bg-white", label: "not started" },
  pending: { icon: "○", tone: "text-slate-500 ring-slate-300 bg-white", label: "pending" },
  running: { icon: "●", tone: "text-teal-700 ring-teal-600 bg-teal-50 animate-pulse", label: "running" },
  done: { icon: "✓", tone: "text-white ring-teal-700 bg-teal-700", label: "done" },
  failed: { icon: "✕", tone: "text-white ring-red-700 bg-red-700", label: "failed" },
  skipped: { icon: "–", tone: "text-slate-500 ring-slate-300 bg-slate-100", label: "skipped" },
};

function duration(from: Date | null, to: Date | null): string | null {
  if (!from || !to) return null;
  const ms = Math.max(0, to.getTime() - from.getTime());
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** One phase of one VM, step by step, as the engine recorded it (or will record it). */
export function StepTimeline({
  title,
  itemId,
  steps,
  note,
}: {
  title: string;
  itemId: string;
  steps: TimelineStep[];
  note?: string;
}) {
  return (
    <section aria-label={title} data-testid="timeline" data-phase-title={title}>
      <h4 className="text-sm font-semibold text-slate-800">
        {title}
        {note ? <span className="ml-2 text-xs font-normal text-slate-500">{note}</span> : null}
      </h4>
      <ol className="mt-2 space-y-0">
        {steps.map((step, index) => {
          const mark = marks[step.state];
          const took = duration(step.startedAt, step.finishedAt);
          return (
            <li
              key={step.id ?? `${step.kind}-${index}`}
              data-testid="step"
              data-kind={step.kind}
              data-state={step.state}
              className="relative flex gap-3 pb-3 last:pb-0"
            >
              {index < steps.length - 1 ? (
                <span aria-hidden className="absolute left-[11px] top-6 h-[calc(100%-1.25rem)] w-px bg-slate-200" />
              ) : null}
              <span
                aria-hidden
                className={`relative z-10 mt-0.5 flex h-6 w-6 shrink-0 items-center justify-center rounded-full text-xs ring-1 ${mark.tone}`}
              >
                {mark.icon}
              </span>
              <div className="min-w-0 flex-1">
                <p className={`text-sm ${step.state === "planned" ? "text-slate-500" : "text-slate-800"}`}>
                  {step.title}
                  <span className="sr-only"> ({mark.label})</span>
                </p>
                <p className="text-xs text-slate-500">
                  {mark.label}
                  {step.attempts > 1 ? ` · attempt ${step.attempts}` : ""}
                  {step.startedAt ? (
                    <>
                      {" · started "}
                      <time dateTime={step.startedAt.toISOString()} title={step.startedAt.toISOString()}>
                        {utcClock(step.startedAt)} UTC
                      </time>
                    </>
                  ) : null}
                  {took ? ` · took ${took}` : ""}
                </p>
                {step.lastError ? <p className="mt-1 break-words text-xs text-red-800">{step.lastError}</p> : null}
                {step.state === "running" && step.id ? <StepProgress itemId={itemId} stepId={step.id} /> : null}
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
