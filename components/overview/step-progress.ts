// How far a session has come, counted in steps of phase 1 and phase 2 (recorded, or planned where a phase has not
// begun). Steps, not bytes: the overview reads rows only, and a step count is what the rows can say truthfully.
import { stepsOf } from "@/lib/engine";
import type { SessionDetail } from "@/lib/db/queries/sessions";

export function stepProgressOf(detail: SessionDetail): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const item of detail.items) {
    const options = {
      target: item.targetKind,
      quickRollback: detail.session.quickRollback,
      powerOnAfter: detail.session.powerOnAfter,
    };
    for (const phase of ["phase1", "phase2"] as const) {
      const recorded = item.steps.filter((s) => s.phase === phase);
      total += recorded.length || stepsOf(phase, options).length;
      done += recorded.filter((s) => s.state === "done" || s.state === "skipped").length;
    }
  }
  return { done, total };
}
