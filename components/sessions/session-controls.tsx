import { cancelFailback } from "@/lib/actions/failback/cancel-failback";
import { commitFailback } from "@/lib/actions/failback/commit-failback";
import { retryFailbackStep } from "@/lib/actions/failback/retry-failback-step";
import { switchNow } from "@/lib/actions/failback/switch-now";
import { undoFailback } from "@/lib/actions/failback/undo-failback";
import type { FailbackSession } from "@/lib/db/schema";
import type { SessionItemDetail } from "@/lib/db/queries/sessions";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { itemCommands, sessionCommands } from "./available-commands";
import {
  cancelConsequence,
  commitConsequence,
  retryConsequence,
  switchConsequence,
  undoConsequence,
} from "./command-consequences";

/** What the signed-in user's role allows (checked again by every action). */
export interface CommandPermissions {
  switch: boolean;
  commit: boolean;
  undo: boolean;
  cancel: boolean;
  schedule: boolean;
}

type Session = Pick<FailbackSession, "id" | "switchMode" | "shutdownTimeoutSeconds" | "powerOnAfter">;

/** The whole session's buttons: only those the role allows and the items' states make possible. */
export function SessionControls({
  session,
  items,
  can,
}: {
  session: Session;
  items: SessionItemDetail[];
  can: CommandPermissions;
}) {
  const available = sessionCommands(session, items);
  const scope = items.length === 1 ? "The VM" : `Each of the ${items.length} VMs where it applies`;
  const fields = { sessionId: session.id };
  const buttons = [
    can.switch && available.switchNow ? (
      <ConfirmAction
        key="switch"
        action={switchNow}
        fields={fields}
        label="Switch now"
        title="Switch now?"
        consequence={switchConsequence(session, scope)}
        confirmLabel="Yes, switch now"
        variant="primary"
        pendingText="Requesting…"
      />
    ) : null,
    can.commit && available.commit ? (
      <ConfirmAction
        key="commit"
        action={commitFailback}
        fields={fields}
        label="Commit"
        title="Commit the failback?"
        consequence={commitConsequence(scope)}
        confirmLabel="Yes, commit"
        variant="primary"
        pendingText="Requesting…"
      />
    ) : null,
    can.undo && available.undo ? (
      <ConfirmAction
        key="undo"
        action={undoFailback}
        fields={fields}
        label="Undo"
        title="Undo the failback?"
        consequence={undoConsequence(scope)}
        confirmLabel="Yes, undo"
        variant="danger"
        pendingText="Requesting…"
      />
    ) : null,
    can.cancel && available.cancel ? (
      <ConfirmAction
        key="cancel"
        action={cancelFailback}
        fields={fields}
        label="Cancel"
        title="Cancel phase 1?"
        consequence={cancelConsequence(scope)}
        confirmLabel="Yes, cancel"
        variant="danger"
        pendingText="Requesting…"
      />
    ) : null,
  ].filter(Boolean);
  if (buttons.length === 0) return null;
  return (
    <div className="flex flex-wrap items-start gap-2" data-testid="session-controls">
      {buttons}
    </div>
  );
}

/** One VM's buttons. Retry is always per VM; the others appear per VM only when the session has several. */
export function ItemControls({
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
  const fields = { sessionId: session.id, itemId: item.id };
  const scope = item.sourceVmName;
  const buttons = [
    can.switch && itemCommands.retry(item) ? (
      <ConfirmAction
        key="retry"
        action={retryFailbackStep}
        fields={fields}
        label="Retry the stopped step"
        title={`Retry ${scope}?`}
        consequence={retryConsequence(item.attentionReason)}
        confirmLabel="Yes, retry"
        variant="primary"
      />
    ) : null,
    several && can.switch && itemCommands.switchNow(item) ? (
      <ConfirmAction
        key="switch"
        action={switchNow}
        fields={fields}
        label="Switch this VM now"
        title={`Switch ${scope} now?`}
        consequence={switchConsequence(session, scope)}
        confirmLabel="Yes, switch now"
      />
    ) : null,
    several && can.commit && itemCommands.commit(item) ? (
      <ConfirmAction
        key="commit"
        action={commitFailback}
        fields={fields}
        label="Commit this VM"
        title={`Commit ${scope}?`}
        consequence={commitConsequence(scope)}
        confirmLabel="Yes, commit"
      />
    ) : null,
    several && can.undo && itemCommands.undo(item) ? (
      <ConfirmAction
        key="undo"
        action={undoFailback}
        fields={fields}
        label="Undo this VM"
        title={`Undo ${scope}?`}
        consequence={undoConsequence(scope)}
        confirmLabel="Yes, undo"
        variant="danger"
      />
    ) : null,
    several && can.cancel && itemCommands.cancel(item) ? (
      <ConfirmAction
        key="cancel"
        action={cancelFailback}
        fields={fields}
        label="Cancel this VM"
        title={`Cancel ${scope}?`}
        consequence={cancelConsequence(scope)}
        confirmLabel="Yes, cancel"
        variant="danger"
      />
    ) : null,
  ].filter(Boolean);
  if (buttons.length === 0) return null;
  return <div className="flex flex-wrap items-start gap-2">{buttons}</div>;
}
