"use server";

import { defineAction } from "@/lib/actions/define-action";
import { startFailbackSchema, stepsOf, type PreflightResult } from "@/lib/engine";
import { engine } from "@/lib/server/engine-instance";
import type { FieldErrors } from "@/lib/errors";
import { engineCall } from "./engine-call";

export interface FailbackReview {
  ok: boolean;
  /** Why it cannot start, by field (items.0.replicaId, switchAt.local, …). */
  fieldErrors: FieldErrors;
  /** The scheduled switch instant (UTC ISO), when scheduled. */
  runAt: string | null;
  preflight: PreflightResult[];
  /** Exactly the steps each replica will run, in order. */
  plans: { replicaId: string; phase1: PlannedStepView[]; phase2: PlannedStepView[] }[];
}

export interface PlannedStepView {
  kind: string;
  title: string;
  /** Stays in the plan but will be skipped (shown as such, so the list is honest). */
  skipped: boolean;
}

const action = defineAction({
  name: "failback.check",
  permission: "failback.start",
  input: startFailbackSchema,
  async run({ input, audit }): Promise<FailbackReview> {
    const checked = await engineCall(() => engine().check(input));
    const plans = input.items.map((item) => {
      const options = { target: item.target, quickRollback: input.quickRollback, powerOnAfter: input.powerOnAfter };
      const view = (plan: "phase1" | "phase2") =>
        stepsOf(plan, options).map((s) => ({ kind: s.kind, title: s.title, skipped: Boolean(s.skipWhen) }));
      return { replicaId: item.replicaId, phase1: view("phase1"), phase2: view("phase2") };
    });
    audit({ details: { replicas: input.items.map((i) => i.replicaId), ok: checked.ok, code: checked.code } });
    return {
      ok: checked.ok,
      fieldErrors: checked.fieldErrors,
      runAt: checked.runAt?.toISOString() ?? null,
      preflight: checked.preflight,
      plans,
    };
  },
});

export async function checkFailback(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
