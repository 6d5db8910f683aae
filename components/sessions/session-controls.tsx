import { commandAction } from "@/lib/actions/command-action";
import type { FailbackSession } from "@/lib/db/schema";
import type { SessionItemDetail } from "@/lib/db/queries/sessions";
import { itemAllows, sessionCommandsAllowed } from "@/lib/engine/legality";
import { ConfirmAction } from "@/components/ui/confirm-action";
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
  retry: boolean;
  schedule: boolean;
}

const switchNow = commandAction("switch-now");
const commitFailback = commandAction("commit");
const undoFailback = commandAction("undo");
const cancelFailback = commandAction("cancel");
const retryFailbackStep = commandAction("retry");

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
  // The same legality rules the engine refuses with: a button is shown only when the command would be taken.
  const available = sessionCommandsAllowed(session, null, items);
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
    can.retry && itemAllows(item, "retry") ? (
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
    several && can.switch && itemAllows(item, "switch_now") ? (
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
    several && can.commit && itemAllows(item, "commit") ? (
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
    several && can.undo && itemAllows(item, "undo") ? (
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
    several && can.cancel && itemAllows(item, "cancel") ? (
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
