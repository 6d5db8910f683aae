// What each command will do, said before it is done (the confirmation dialogs).
import type { FailbackSession } from "@/lib/db/schema";

type Settings = Pick<FailbackSession, "shutdownTimeoutSeconds" | "powerOnAfter">;

function minutes(seconds: number): string {
  const m = seconds / 60;
  return Number.isInteger(m) ? `${m} minute${m === 1 ? "" : "s"}` : `${seconds} seconds`;
}

export function switchConsequence(settings: Settings, scope: string) {
  return (
    <>
      <p>
        {scope}: the replica is shut down (its guest gets up to {minutes(settings.shutdownTimeoutSeconds)} to stop, then
        it is powered off), its last changes are sent to production and every production block is verified against it.
      </p>
      <p>
        {settings.powerOnAfter
          ? "If verification passes, production powers on."
          : "Production stays off afterwards (power on after switch was not chosen)."}{" "}
        A VM still in phase 1 switches as soon as its phase 1 ends. Until commit, undo remains possible.
      </p>
    </>
  );
}

export function commitConsequence(scope: string) {
  return (
    <>
      <p>
        {scope}: the replica returns to ready, its switch-time snapshot is kept as a restore point, and replication
        resumes.
      </p>
      <p className="font-medium">After commit, undo is impossible.</p>
    </>
  );
}

export function undoConsequence(scope: string) {
  return (
    <>
      <p>{scope}, depending on how far it got:</p>
      <ul className="list-disc space-y-1 pl-5">
        <li>
          after the switch: production powers off, the replica reverts to its state at switch time (no replica write is
          lost) and runs again;
        </li>
        <li>ready to switch: phase 1 is discarded, the replica keeps running;</li>
        <li>stopped mid-way: whatever was done is taken apart in order.</li>
      </ul>
      <p>Each replica ends running in failover, with production off.</p>
    </>
  );
}

export function cancelConsequence(scope: string) {
  return (
    <p>
      {scope}: phase 1 stops at a safe point, the production working snapshot is discarded (production&apos;s base disks
      were never written) and the replica&apos;s protective snapshot is merged back. The replica keeps running in
      failover.
    </p>
  );
}

export function retryConsequence(reason: string | null) {
  return (
    <>
      <p>The stopped step runs again, continuing from its last checkpoint.</p>
      {reason ? <p className="text-slate-600">It stopped because: {reason}</p> : null}
    </>
  );
}
