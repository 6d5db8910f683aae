import type { FailbackSession } from "@/lib/db/schema";
import type { SessionItemDetail } from "@/lib/db/queries/sessions";
import { ItemStateBadge } from "./item-state-badge";
import { timelinesOf } from "./item-timelines";
import { ItemProgress } from "./live/item-progress";
import { VerificationResult } from "./live/verification-result";
import { ItemControls, type CommandPermissions } from "./session-controls";
import { StepTimeline } from "./step-timeline";
import { targetKindLabels } from "./switch-mode-label";

type Session = Pick<FailbackSession, "id" | "switchMode" | "shutdownTimeoutSeconds" | "powerOnAfter" | "quickRollback">;

/** One VM of a session: where it goes, its real state, live progress, verification, and its timelines. */
export function ItemCard({
  session,
  item,
  several,
  can,
}: {
  session: Session;
  item: SessionItemDetail;
  several: boolean;
  can: CommandPermissions;
}) {
  const options = { target: item.targetKind, quickRollback: session.quickRollback, powerOnAfter: session.powerOnAfter };
  const timelines = timelinesOf(item, options);
  return (
    <article
      data-testid="item"
      data-vm={item.sourceVmName}
      data-state={item.state}
      className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200"
    >
      <header className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
        <div className="min-w-0">
          <h3 className="text-base font-semibold">{item.sourceVmName}</h3>
          <p className="text-xs text-slate-600">
            {item.replicaVmName} → {targetKindLabels[item.targetKind]}
            {item.targetVmName && item.targetVmName !== item.sourceVmName ? ` (${item.targetVmName})` : ""}
          </p>
        </div>
        <ItemStateBadge state={item.state} testId="item-state" />
      </header>
      {item.state === "needs_attention" && item.attentionReason ? (
        <p role="alert" className="mt-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-900">
          {item.attentionReason}
        </p>
      ) : null}
      {item.switchRequested &&
      (item.state === "pending" || item.state === "phase1" || item.state === "ready_to_switch") ? (
        <p className="mt-2 text-xs text-slate-600">Switch requested: it starts as soon as phase 1 is done.</p>
      ) : null}
      {item.cancelRequested ? (
        <p className="mt-2 text-xs text-slate-600">Cancel requested: phase 1 stops at the next safe point.</p>
      ) : null}
      <div className="mt-3 space-y-3">
        <ItemProgress itemId={item.id} vmName={item.sourceVmName} />
        <VerificationResult itemId={item.id} />
        <ItemControls session={session} item={item} several={several} can={can} />
      </div>
      <div className="mt-4 grid gap-6 md:grid-cols-2">
        {timelines.map((t) => (
          <StepTimeline key={t.title} title={t.title} note={t.note} itemId={item.id} steps={t.steps} />
        ))}
      </div>
    </article>
  );
}
