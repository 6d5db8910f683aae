"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import type { ReplicaState } from "@/lib/db/schema";
import { Button } from "@/components/ui/button";
import { formatBytes } from "@/components/ui/format";
import { ReplicaStateBadge } from "./replica-state-badge";

export interface ReplicaTableRow {
  id: string;
  state: ReplicaState;
  replicationOnHold: boolean;
  sourceVmName: string;
  sourceSiteName: string;
  replicaVmName: string;
  replicaSiteName: string;
  lastRestorePointSeq: number | null;
  /** "YYYY-MM-DD HH:MM UTC", rendered on the server. */
  lastRestorePointAt: string | null;
  failedOverFromSeq: number | null;
  sizeBytes: number;
  disks: number;
  moveText: string;
  moveExplanation: string;
  liveSessionId: string | null;
}

export interface SortLink {
  key: string;
  label: string;
  href: string;
  /** "ascending" / "descending" when the table is sorted by this column. */
  active: "ascending" | "descending" | null;
}

/** Replicas in failover that are in no session may be chosen; the wizard opens with the chosen ones. */
export function ReplicaTable({
  rows,
  sortLinks,
  canStart,
}: {
  rows: ReplicaTableRow[];
  sortLinks: SortLink[];
  canStart: boolean;
}) {
  const router = useRouter();
  const [chosen, setChosen] = useState<string[]>([]);
  const choosable = (r: ReplicaTableRow) => canStart && r.state === "failover" && !r.liveSessionId;
  const toggle = (id: string, on: boolean) => setChosen((c) => (on ? [...c, id] : c.filter((x) => x !== id)));
  const visibleChosen = chosen.filter((id) => rows.some((r) => r.id === id));
  const head = (key: string) => sortLinks.find((s) => s.key === key);

  const sortHeader = (key: string) => {
    const link = head(key);
    if (!link) return null;
    return (
      <th scope="col" className="px-4 py-3" aria-sort={link.active ?? undefined}>
        <Link href={link.href} className="inline-flex items-center gap-1 hover:text-slate-900">
          {link.label}
          <span aria-hidden>{link.active === "ascending" ? "▲" : link.active === "descending" ? "▼" : ""}</span>
        </Link>
      </th>
    );
  };

  return (
    <div>
      {canStart ? (
        <div className="mb-3 flex flex-wrap items-center gap-3">
          <Button
            type="button"
            disabled={visibleChosen.length === 0}
            onClick={() => router.push(`/failback/new?${visibleChosen.map((id) => `replica=${id}`).join("&")}`)}
          >
            Start failback{visibleChosen.length ? ` (${visibleChosen.length})` : ""}
          </Button>
          <span className="text-sm text-slate-600">Choose replicas in failover to bring home.</span>
        </div>
      ) : null}
      <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
        <table className="min-w-full divide-y divide-slate-200 text-sm">
          <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
            <tr>
              {canStart ? (
                <th scope="col" className="w-10 px-4 py-3">
                  <span className="sr-only">Choose</span>
                </th>
              ) : null}
              {sortHeader("name")}
              {sortHeader("site")}
              {sortHeader("state")}
              {sortHeader("restore_point")}
              {sortHeader("size")}
              <th scope="col" className="px-4 py-3">
                Data to move
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {rows.map((r) => (
              <tr
                key={r.id}
                data-testid="replica-row"
                data-vm={r.sourceVmName}
                data-state={r.state}
                className={chosen.includes(r.id) ? "bg-teal-50/60" : undefined}
              >
                {canStart ? (
                  <td className="px-4 py-3">
                    <input
                      type="checkbox"
                      aria-label={`Choose ${r.sourceVmName}`}
                      disabled={!choosable(r)}
                      checked={chosen.includes(r.id)}
                      onChange={(e) => toggle(r.id, e.target.checked)}
                      title={
                        choosable(r)
                          ? undefined
                          : r.liveSessionId
                            ? "Already in a failback session"
                            : "Only replicas in failover can fail back"
                      }
                      className="rounded border-slate-300"
                    />
                  </td>
                ) : null}
                <td className="px-4 py-3">
                  <div className="font-medium">{r.sourceVmName}</div>
                  <div className="text-xs text-slate-500">replica {r.replicaVmName}</div>
                </td>
                <td className="px-4 py-3">
                  <div>{r.sourceSiteName}</div>
                  <div className="text-xs text-slate-500">DR: {r.replicaSiteName}</div>
                </td>
                <td className="px-4 py-3">
                  <ReplicaStateBadge state={r.state} />
                  {r.liveSessionId ? (
                    <div className="mt-1 text-xs">
                      <Link href={`/sessions/${r.liveSessionId}`} className="text-teal-800 hover:underline">
                        in a failback session
                      </Link>
                    </div>
                  ) : r.replicationOnHold ? (
                    <div className="mt-1 text-xs text-slate-500">replication on hold</div>
                  ) : null}
                </td>
                <td className="px-4 py-3 text-slate-700">
                  {r.lastRestorePointSeq === null ? (
                    <span className="text-slate-400">never replicated</span>
                  ) : (
                    <>
                      <div>
                        #{r.lastRestorePointSeq} <span className="text-xs text-slate-500">{r.lastRestorePointAt}</span>
                      </div>
                      {r.failedOverFromSeq !== null && r.state !== "ready" ? (
                        <div className="text-xs text-slate-500">failed over from #{r.failedOverFromSeq}</div>
                      ) : null}
                    </>
                  )}
                </td>
                <td className="px-4 py-3 tabular-nums">
                  {formatBytes(r.sizeBytes)}
                  <div className="text-xs text-slate-500">
                    {r.disks} disk{r.disks === 1 ? "" : "s"}
                  </div>
                </td>
                <td className="px-4 py-3 tabular-nums" title={r.moveExplanation}>
                  {r.moveText}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
