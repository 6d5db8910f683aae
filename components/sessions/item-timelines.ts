// A VM's timelines: every phase it has recorded steps for, with the engine's titles; phase 1 and phase 2 are
// shown from the start (planned steps, not yet recorded) so the operator sees the whole road ahead.
import { stepsOf, titleOfStep, type PlanOptions } from "@/lib/engine";
import type { SessionItemDetail } from "@/lib/db/queries/sessions";
import type { TimelineStep } from "./step-timeline";

const phases = [
  { phase: "phase1", title: "Phase 1: sync while the replica runs" },
  { phase: "phase2", title: "Phase 2: switch" },
  { phase: "commit", title: "Commit" },
  { phase: "undo", title: "Undo" },
  { phase: "cancel", title: "Cancel" },
] as const;

const finished = ["committed", "undone", "cancelled"];

export function timelinesOf(
  item: SessionItemDetail,
  options: PlanOptions,
): { title: string; steps: TimelineStep[]; note?: string }[] {
  const out: { title: string; steps: TimelineStep[]; note?: string }[] = [];
  for (const { phase, title } of phases) {
    const recorded = item.steps.filter((s) => s.phase === phase);
    if (recorded.length) {
      out.push({
        title,
        steps: recorded.map((s) => ({
          id: s.id,
          kind: s.name,
          title: titleOfStep(phase, s.name, options),
          state: s.state,
          attempts: s.attempts,
          lastError: s.lastError,
          startedAt: s.startedAt,
          finishedAt: s.finishedAt,
        })),
      });
    } else if ((phase === "phase1" || phase === "phase2") && !finished.includes(item.state)) {
      out.push({
        title,
        note: "not started yet",
        steps: stepsOf(phase, options).map((s) => ({
          id: null,
          kind: s.kind,
          title: s.title,
          state: "planned",
          attempts: 0,
          lastError: null,
          startedAt: null,
          finishedAt: null,
        })),
      });
    }
  }
  return out;
}
