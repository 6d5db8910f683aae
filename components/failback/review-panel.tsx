"use client";

import type { FailbackReview, PlannedStepView } from "@/lib/commands/failback-commands";
import { formatBytes, utcText } from "@/components/ui/format";
import { formatInZone } from "@/components/ui/zoned-time";
import type { WizardDraft, WizardReplicaView } from "./wizard-model";

function StepList({ title, steps }: { title: string; steps: PlannedStepView[] }) {
  return (
    <div>
      <h5 className="text-xs font-semibold uppercase tracking-wide text-slate-600">{title}</h5>
      <ol className="mt-1 list-decimal space-y-0.5 pl-5 text-sm">
        {steps.map((s, i) => (
          <li
            key={`${s.kind}-${i}`}
            data-testid="review-step"
            data-kind={s.kind}
            className={s.skipped ? "text-slate-400" : "text-slate-800"}
          >
            {s.title}
            {s.skipped ? " (skipped with these settings)" : ""}
          </li>
        ))}
      </ol>
    </div>
  );
}

/** What will happen, exactly: the pre-flight verdict per replica and every step each will run. */
export function ReviewPanel({
  review,
  replicas,
  draft,
  zone,
}: {
  review: FailbackReview;
  replicas: WizardReplicaView[];
  draft: WizardDraft;
  zone: string;
}) {
  const runAt = review.runAt ? new Date(review.runAt) : null;
  return (
    <section
      aria-label="Review"
      data-testid="review"
      data-ok={review.ok}
      className="space-y-4 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200"
    >
      <h2 className="text-base font-semibold">Review</h2>
      <p
        className={`rounded-md px-3 py-2 text-sm ${review.ok ? "bg-teal-50 text-teal-900" : "bg-red-50 text-red-900"}`}
      >
        {review.ok
          ? "Pre-flight passed: the failback can start."
          : "Pre-flight refused the failback; the reasons are listed below and next to their fields."}
      </p>
      <dl className="grid gap-3 text-sm sm:grid-cols-3">
        <div>
          <dt className="text-xs text-slate-500">Switch</dt>
          <dd data-testid="review-switch">
            {draft.switchMode === "auto"
              ? "Right after each VM's phase 1"
              : draft.switchMode === "manual"
                ? "When someone presses Switch now"
                : runAt
                  ? `${formatInZone(runAt, zone, runAt.getUTCSeconds() !== 0)} ${zone} = ${utcText(runAt)}`
                  : "—"}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Quick rollback</dt>
          <dd>{draft.quickRollback ? "Yes" : "No"}</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">After switch</dt>
          <dd>
            {draft.powerOnAfter ? "Power on production" : "Leave production off"}; guest shutdown timeout{" "}
            {draft.shutdownMinutes} min
          </dd>
        </div>
      </dl>
      {replicas.map((replica, i) => {
        const check = review.preflight[i];
        const plan = review.plans[i];
        return (
          <article
            key={replica.id}
            data-testid="review-item"
            data-vm={replica.sourceVmName}
            className="rounded-md p-3 ring-1 ring-slate-200"
          >
            <h4 className="font-semibold">{replica.sourceVmName}</h4>
            {check ? (
              <div className="mt-1 space-y-1 text-sm">
                <p className={check.ok ? "text-teal-800" : "text-red-800"}>
                  {check.ok ? "Pre-flight: OK" : "Pre-flight: refused"}
                </p>
                {check.refusals.map((r) => (
                  <p key={r.field + r.message} className="text-red-800">
                    {r.message}
                  </p>
                ))}
                {check.warnings.map((w) => (
                  <p key={w} className="text-amber-800" data-testid="review-warning">
                    Warning: {w}
                  </p>
                ))}
                <p className="text-xs text-slate-600">
                  Space on the target: {formatBytes(check.spaceNeededBytes)} needed,{" "}
                  {check.spaceFreeBytes === null ? "free space unknown" : `${formatBytes(check.spaceFreeBytes)} free`}.{" "}
                  Quick rollback{" "}
                  {check.quickRollback.allowed ? "available" : `unavailable: ${check.quickRollback.reason ?? ""}`}
                </p>
              </div>
            ) : null}
            {plan ? (
              <div className="mt-3 grid gap-4 md:grid-cols-2">
                <StepList title="Phase 1: sync while the replica runs" steps={plan.phase1} />
                <StepList title="Phase 2: switch" steps={plan.phase2} />
              </div>
            ) : null}
          </article>
        );
      })}
    </section>
  );
}
