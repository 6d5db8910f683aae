// One line of the event log per event, in the behaviour page's words.
import { formatBytes, formatRate, percentOf } from "@/components/ui/format";
import type { LiveEvent } from "./live-state";

const text = (v: unknown, fallback = "") => (typeof v === "string" ? v : typeof v === "number" ? String(v) : fallback);
const words = (v: unknown) => text(v).replace(/_/g, " ");

function verdictLine(disks: unknown): string {
  if (!disks || typeof disks !== "object") return "no disks";
  return Object.entries(disks as Record<string, { ok?: boolean }>)
    .map(([label, v]) => `${label} ${v?.ok ? "matches" : "differs"}`)
    .join(", ");
}

export function describeEvent(event: LiveEvent): string {
  const p = event.payload;
  switch (event.type) {
    case "session.created":
      return `Session started by ${text(p.by, "someone")}: ${text(p.items, "?")} VM(s), switch ${words(p.switchMode)}${p.runAt ? ` at ${text(p.runAt)} (${text(p.timeZone)})` : ""}.`;
    case "session.state":
      return `Session ${words(p.from) || "new"} → ${words(p.to)}.`;
    case "item.state":
      return `${words(p.from)} → ${words(p.to)}${p.why ? ` (${text(p.why)})` : ""}.`;
    case "step.started":
      return `Started: ${text(p.title)}${Number(p.attempt) > 1 ? ` (attempt ${text(p.attempt)})` : ""}${p.resumed ? ", resuming from its checkpoint" : ""}.`;
    case "step.progress": {
      const done = Number(p.bytesDone) || 0;
      const total = Number(p.bytesTotal) || 0;
      return `${text(p.title)}: ${percentOf(done, total).toFixed(0)}% of ${formatBytes(total)}${p.disk ? ` (${text(p.disk)})` : ""} at ${formatRate(Number(p.rateBytesPerSec))}.`;
    }
    case "step.done":
      return `Done: ${text(p.title)}.`;
    case "step.skipped":
      return `Skipped: ${text(p.title)}${p.why ? ` (${words(p.why)})` : ""}.`;
    case "step.retrying":
      return `Retrying ${text(p.title)} after: ${text(p.error)}`;
    case "step.failed":
      return `Failed: ${text(p.title)}: ${text(p.error)}`;
    case "switch.requested":
      return `Switch requested by ${text(p.by, "someone")}.`;
    case "cancel.requested":
      return `Cancel requested by ${text(p.by, "someone")}.`;
    case "commit.requested":
      return `Commit requested by ${text(p.by, "someone")}.`;
    case "undo.requested":
      return `Undo requested by ${text(p.by, "someone")}.`;
    case "schedule.changed":
      return `Switch time changed by ${text(p.by, "someone")} to ${text(p.to)} (entered in ${text(p.timeZone)}).`;
    case "schedule.cancelled":
      return `Schedule cancelled by ${text(p.by, "someone")}: the session switches manually now.`;
    case "schedule.started":
      return `The scheduled time came: switching ${text(p.items, "the")} VM(s).`;
    case "verification.result":
      return `Verification: ${verdictLine(p.disks)}.`;
    case "worker.takeover":
      return `A worker took over the run (attempt ${text(p.attempt, "?")}).`;
    default:
      return text(p.message) || `${words(event.type)}${Object.keys(p).length ? `: ${JSON.stringify(p)}` : ""}`;
  }
}
