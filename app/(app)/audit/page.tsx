import type { Metadata } from "next";
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { Time } from "@/components/ui/time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { flushAnonymousDenials } from "@/lib/db/queries/anonymous-denials";
import { rowId, searchText } from "@/lib/validation/text";
import { listAudit } from "@/lib/db/queries/audit";
import { auditOutcomes, type AuditEntry } from "@/lib/db/schema";

export const metadata: Metadata = { title: "Audit log" };

const outcomeTone = { ok: "teal", denied: "amber", error: "red" } as const;
const pageSize = 100;

export default async function AuditPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const { allowed } = await actorWithPermission("audit.read", "audit");
  if (!allowed) return <NotPermitted what="the audit log" />;
  const params = await searchParams;
  const outcome = auditOutcomes.find((o) => o === params.outcome);
  // The URL is the visitor's to write: the search loses control characters and the cursor must be a row id.
  const text = searchText(params.q);
  // Anonymous refusals of finished minutes are written now, so the log shown is complete up to this minute.
  await flushAnonymousDenials(db());
  const entries: AuditEntry[] = await listAudit(db(), {
    outcome,
    text,
    before: rowId(params.before),
    limit: pageSize,
  });
  const last = entries.at(-1);
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Who did what, when and from where. Entries can be added, never changed."
      />
      <form className="mb-4 flex flex-wrap items-end gap-3" role="search">
        <div>
          <label htmlFor="q" className="block text-sm font-medium text-slate-700">
            Search
          </label>
          <input
            id="q"
            name="q"
            defaultValue={text}
            placeholder="action, user or target"
            className="mt-1 rounded-md border-0 px-3 py-2 text-sm ring-1 ring-inset ring-slate-300"
          />
        </div>
        <div>
          <label htmlFor="outcome" className="block text-sm font-medium text-slate-700">
            Outcome
          </label>
          <select
            id="outcome"
            name="outcome"
            defaultValue={outcome ?? ""}
            className="mt-1 rounded-md border-0 py-2 pl-3 pr-8 text-sm ring-1 ring-inset ring-slate-300"
          >
            <option value="">any</option>
            {auditOutcomes.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </div>
        <button
          type="submit"
          className="rounded-md bg-white px-3 py-2 text-sm font-medium ring-1 ring-slate-300 hover:bg-slate-50"
        >
          Filter
        </button>
      </form>
      <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
        <table className="min-w-full divide-y divide-slate-200 text-sm">
          <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
            <tr>
              <th scope="col" className="px-4 py-3">
                When
              </th>
              <th scope="col" className="px-4 py-3">
                Who
              </th>
              <th scope="col" className="px-4 py-3">
                Action
              </th>
              <th scope="col" className="px-4 py-3">
                Outcome
              </th>
              <th scope="col" className="px-4 py-3">
                Target
              </th>
              <th scope="col" className="px-4 py-3">
                From
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {entries.map((e) => (
              <tr key={e.id} data-testid="audit-row">
                <td className="whitespace-nowrap px-4 py-2 text-slate-600">
                  <Time value={e.at} />
                </td>
                <td className="px-4 py-2">{e.actorLabel}</td>
                <td className="px-4 py-2 font-mono text-xs">{e.action}</td>
                <td className="px-4 py-2">
                  <Badge tone={outcomeTone[e.outcome]}>{e.outcome}</Badge>
                  {e.reason ? <div className="mt-1 text-xs text-slate-500">{e.reason}</div> : null}
                </td>
                <td className="px-4 py-2 text-xs text-slate-600">
                  {e.targetType ? `${e.targetType} ${e.targetId ?? ""}` : "—"}
                </td>
                <td className="px-4 py-2 text-xs text-slate-600">{e.clientIp ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {entries.length === 0 ? (
          <p className="px-4 py-6 text-center text-sm text-slate-600">No entries match.</p>
        ) : null}
      </div>
      {last && entries.length === pageSize ? (
        <p className="mt-4 text-sm">
          <Link
            className="font-medium text-teal-800 hover:underline"
            href={`/audit?${new URLSearchParams({ ...(text ? { q: text } : {}), ...(outcome ? { outcome } : {}), before: String(last.id) })}`}
          >
            Older entries →
          </Link>
        </p>
      ) : null}
    </>
  );
}
