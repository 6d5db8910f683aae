// Human renderings: aligned tables, a session's status, one line per event.
import { narrowEvent } from "@/lib/events/catalog";
import type { Replica, SessionDetail, SessionEvent, SessionSummary } from "./api-types";

export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  return all
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join("  "))
    .join("\n");
}

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—");

export function replicasTable(replicas: Replica[]): string {
  if (replicas.length === 0) return "No replicas match.";
  return table(
    ["ID", "VM", "STATE", "SOURCE SITE", "REPLICA SITE", "LAST REPLICATED"],
    replicas.map((r) => [r.id, r.sourceVmName, r.state, r.sourceSiteName, r.replicaSiteName, when(r.lastReplicatedAt)]),
  );
}

export function sessionsTable(sessions: SessionSummary[]): string {
  if (sessions.length === 0) return "No failback sessions.";
  return table(
    ["ID", "STATE", "SWITCH", "VMS", "CREATED", "BY"],
    sessions.map((s) => [
      s.id,
      s.state,
      s.nextSwitchAt ? `at ${when(s.nextSwitchAt)}` : s.switchMode,
      s.vmNames.join(", "),
      when(s.createdAt),
      s.createdByEmail ?? "—",
    ]),
  );
}

function currentStep(item: SessionDetail["items"][number]): string {
  const step =
    item.steps.find((s) => s.state === "running" || s.state === "failed") ??
    item.steps.filter((s) => s.state === "done").at(-1);
  if (!step) return "";
  return `${step.phase}/${step.name} ${step.state}${step.lastError ? `: ${step.lastError}` : ""}`;
}

export function sessionStatus(detail: SessionDetail): string {
  const { session, schedule, items } = detail;
  const lines = [
    `Session ${session.id}: ${session.state}`,
    `  switch: ${session.switchMode}${session.quickRollback ? ", quick rollback" : ""}; created ${when(session.createdAt)} by ${session.createdByEmail ?? "—"}`,
  ];
  if (schedule?.state === "pending")
    lines.push(`  scheduled switch: ${when(schedule.runAt)} (entered in ${schedule.timeZone})`);
  if (session.reason) lines.push(`  reason: ${session.reason}`);
  lines.push(
    table(
      ["  VM", "TARGET", "STATE", "STEP"],
      items.map((i) => [
        `  ${i.sourceVmName}`,
        i.targetKind === "original" ? "original" : `${i.targetKind} ${i.targetVmName ?? ""}`.trim(),
        i.state + (i.attentionReason ? ` (${i.attentionReason})` : ""),
        currentStep(i),
      ]),
    ),
  );
  return lines.join("\n");
}

function payloadSummary(event: SessionEvent): string {
  const known = narrowEvent(event);
  if (known?.type === "item.state") {
    const { from, to, why } = known.payload;
    return `${from} → ${to}${why ? ` (${why})` : ""}`;
  }
  if (known?.type === "session.state") return `${known.payload.from ?? ""} → ${known.payload.to}`;
  // Anything else, including types this command line does not know yet (a newer server): its message, or as is.
  const p = event.payload;
  if (typeof p.message === "string") return p.message;
  const text = JSON.stringify(p);
  return text === "{}" ? "" : text.length > 160 ? text.slice(0, 157) + "…" : text;
}

export function eventLine(event: SessionEvent, vmNameOfItem: (itemId: string) => string | undefined): string {
  const vm = event.itemId ? (vmNameOfItem(event.itemId) ?? event.itemId.slice(0, 8)) : "session";
  const time = event.createdAt.slice(11, 19);
  return `${time} ${event.level.padEnd(7)} ${vm.padEnd(12)} ${event.type} ${payloadSummary(event)}`.trimEnd();
}
