// One line of the event log per event, in the behaviour page's words. The switch covers every type of the
// catalogue (lib/events/catalog.ts), so an event type added there without words here is a type error.
import { formatBytes, formatRate, percentOf } from "@/components/ui/format";
import type { TestEvent, VerificationVerdict } from "@/lib/events/catalog";
import type { TypedLiveEvent } from "./live-state";

const words = (v: string | null | undefined) => (v ?? "").replace(/_/g, " ");

function verdictLine(disks: Record<string, VerificationVerdict>): string {
  return Object.entries(disks)
    .map(([label, v]) => `${label} ${v.ok ? "matches" : "differs"}`)
    .join(", ");
}

/** For events with no words of their own: the type, and the payload as it is. */
function plain(event: { type: string; payload: object }): string {
  const p = event.payload;
  return `${words(event.type)}${Object.keys(p).length ? `: ${JSON.stringify(p)}` : ""}`;
}

export function describeEvent(event: TypedLiveEvent): string {
  switch (event.type) {
    case "session.created": {
      const p = event.payload;
      return `Session started by ${p.by}: ${p.items ?? "?"} VM(s), switch ${words(p.switchMode)}${p.runAt ? ` at ${p.runAt} (${p.timeZone ?? ""})` : ""}.`;
    }
    case "session.state":
      return `Session ${words(event.payload.from) || "new"} → ${words(event.payload.to)}.`;
    case "item.state": {
      const p = event.payload;
      return `${words(p.from)} → ${words(p.to)}${p.why ? ` (${p.why})` : ""}.`;
    }
    case "step.started": {
      const p = event.payload;
      return `Started: ${p.title}${p.attempt > 1 ? ` (attempt ${p.attempt})` : ""}${p.resumed ? ", resuming from its checkpoint" : ""}.`;
    }
    case "step.progress": {
      const p = event.payload;
      return `${p.title}: ${percentOf(p.bytesDone, p.bytesTotal).toFixed(0)}% of ${formatBytes(p.bytesTotal)}${p.disk ? ` (${p.disk})` : ""} at ${formatRate(p.rateBytesPerSec)}.`;
    }
    case "step.done":
      return `Done: ${event.payload.title}.`;
    case "step.skipped": {
      const p = event.payload;
      return `Skipped: ${p.title}${"why" in p ? ` (${words(p.why)})` : ""}.`;
    }
    case "step.retrying":
      return `Retrying ${event.payload.title} after: ${event.payload.error}`;
    case "step.failed":
      return `Failed: ${event.payload.title}: ${event.payload.error}`;
    case "switch.requested":
      return `Switch requested by ${event.payload.by}.`;
    case "cancel.requested":
      return `Cancel requested by ${event.payload.by}.`;
    case "commit.requested":
      return `Commit requested by ${event.payload.by}.`;
    case "undo.requested":
      return `Undo requested by ${event.payload.by}.`;
    case "schedule.changed":
      return `Switch time changed by ${event.payload.by} to ${event.payload.to} (entered in ${event.payload.timeZone}).`;
    case "schedule.cancelled":
      return `Schedule cancelled by ${event.payload.by}: the session switches manually now.`;
    case "schedule.started":
      return `The scheduled time came: switching ${event.payload.items} VM(s).`;
    case "verification.result":
      return `Verification: ${verdictLine(event.payload.disks)}.`;
    case "worker.takeover":
      return `A worker took over the run (attempt ${event.payload.attempt}).`;
    case "preflight.warning":
    case "plan.cancel":
    case "quick_rollback.fallback":
      return event.payload.message || plain(event);
    case "engine.error":
    case "worker.fenced":
    case "reconcile":
    case "replica.shutdown_timeout":
    case "phase2.full_compare":
    case "verification.resync":
      return plain(event);
    default: {
      // Only the tests' own events are left; a catalogue type missing above fails to compile here.
      const test: TestEvent = event;
      return plain(test);
    }
  }
}
