import type { Metadata } from "next";
import Link from "next/link";
import { ItemStateBadge, itemStateLabels } from "@/components/sessions/item-state-badge";
import { switchModeLabels } from "@/components/sessions/switch-mode-label";
import { EmptyState } from "@/components/ui/empty-state";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { Pagination } from "@/components/ui/pagination";
import { Time } from "@/components/ui/time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { pageNumber } from "@/lib/validation/text";
import { listSessions } from "@/lib/db/queries/sessions";
import { itemStates, type ItemState } from "@/lib/db/schema";

export const metadata: Metadata = { title: "Sessions" };

const pageSize = 50;
const views = { running: "Running", all: "History (all)" } as const;
type View = keyof typeof views;

export default async function SessionsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const { allowed } = await actorWithPermission("session.read", "failback sessions");
  if (!allowed) return <NotPermitted what="failback sessions" />;
  const params = await searchParams;
  const view: View = params.view === "all" ? "all" : "running";
  const state = itemStates.find((s) => s === params.state) as ItemState | undefined;
  const page = pageNumber(params.page);
  // One row more than a page tells whether there is a next page without counting every session.
  const rows = await listSessions(db(), {
    live: view === "running",
    state,
    limit: pageSize + 1,
    offset: (page - 1) * pageSize,
  });
  const shown = rows.slice(0, pageSize);
  const href = (change: { view?: View; page?: number }) => {
    const q = new URLSearchParams();
    const v = change.view ?? view;
    if (v !== "running") q.set("view", v);
    if (state) q.set("state", state);
    const p = change.page ?? 1;
    if (p > 1) q.set("page", String(p));
    const text = q.toString();
    return text ? `/sessions?${text}` : "/sessions";
  };
  return (
    <>
      <PageHeader
        title="Failback sessions"
        description="Every failback, running or finished, with its timeline. Sessions are kept for the record."
      />
      <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
        <nav aria-label="Which sessions" className="flex gap-1 rounded-md bg-slate-100 p-1 text-sm">
          {(Object.keys(views) as View[]).map((v) => (
            <Link
              key={v}
              href={href({ view: v })}
              aria-current={v === view ? "page" : undefined}
              className={`rounded px-3 py-1.5 ${v === view ? "bg-white font-medium shadow-sm" : "text-slate-600 hover:text-slate-900"}`}
            >
              {views[v]}
            </Link>
          ))}
        </nav>
        <form className="flex items-end gap-2" action="/sessions">
          {view !== "running" ? <input type="hidden" name="view" value={view} /> : null}
          <div>
            <label htmlFor="state" className="block text-sm font-medium text-slate-700">
              State
            </label>
            <select
              id="state"
              name="state"
              defaultValue={state ?? ""}
              className="mt-1 rounded-md border-0 py-2 pl-3 pr-8 text-sm ring-1 ring-inset ring-slate-300"
            >
              <option value="">any</option>
              {itemStates.map((s) => (
                <option key={s} value={s}>
                  {itemStateLabels[s]}
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
      </div>
      {shown.length === 0 ? (
        <EmptyState title={view === "running" ? "No failback is running" : "No sessions match"}>
          <p>
            Start one from the{" "}
            <Link href="/replicas?state=failover" className="font-medium text-teal-800 hover:underline">
              replicas in failover
            </Link>
            {view === "running" ? (
              <>
                , or see the{" "}
                <Link href={href({ view: "all" })} className="font-medium text-teal-800 hover:underline">
                  history
                </Link>
              </>
            ) : null}
            .
          </p>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
          <table className="min-w-full divide-y divide-slate-200 text-sm">
            <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
              <tr>
                <th scope="col" className="px-4 py-3">
                  VMs
                </th>
                <th scope="col" className="px-4 py-3">
                  State
                </th>
                <th scope="col" className="px-4 py-3">
                  Switch
                </th>
                <th scope="col" className="px-4 py-3">
                  Started
                </th>
                <th scope="col" className="px-4 py-3">
                  Finished
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {shown.map((s) => (
                <tr key={s.id} data-testid="session-row" data-session={s.id} data-state={s.state}>
                  <td className="px-4 py-3">
                    <Link href={`/sessions/${s.id}`} className="font-medium text-teal-800 hover:underline">
                      {[...s.vmNames].sort().join(", ") || `${s.items} VM(s)`}
                    </Link>
                    {s.reason ? <div className="max-w-xs truncate text-xs text-slate-500">{s.reason}</div> : null}
                  </td>
                  <td className="px-4 py-3">
                    <ItemStateBadge state={s.state} />
                  </td>
                  <td className="px-4 py-3 text-slate-700">
                    {switchModeLabels[s.switchMode]}
                    {s.nextSwitchAt ? (
                      <div className="text-xs text-slate-500">
                        at <Time value={s.nextSwitchAt} />
                      </div>
                    ) : null}
                  </td>
                  <td className="px-4 py-3 text-slate-600">
                    <Time value={s.createdAt} />
                    <div className="text-xs text-slate-500">{s.createdByEmail ?? ""}</div>
                  </td>
                  <td className="px-4 py-3 text-slate-600">
                    <Time value={s.finishedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page > 1 || rows.length > pageSize ? (
        <Pagination
          page={page}
          pageSize={pageSize}
          hasNext={rows.length > pageSize}
          hrefFor={(p) => href({ page: p })}
        />
      ) : null}
    </>
  );
}
