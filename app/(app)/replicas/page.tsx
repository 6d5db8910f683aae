import type { Metadata } from "next";
import Link from "next/link";
import { dataToMove } from "@/components/replicas/data-to-move";
import { ReplicaTable, type ReplicaTableRow, type SortLink } from "@/components/replicas/replica-table";
import { replicaStateLabels } from "@/components/replicas/replica-state-badge";
import { EmptyState } from "@/components/ui/empty-state";
import { utcText } from "@/components/ui/format";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { Pagination } from "@/components/ui/pagination";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { can } from "@/lib/auth/permissions";
import { db } from "@/lib/db/client";
import { listReplicaSites, searchReplicas, type ReplicaSortKey } from "@/lib/db/queries/replicas";
import { replicaStates } from "@/lib/db/schema";
import { pageSizes, parseReplicaSearch, replicasHref, type RawParams } from "./search-params";

export const metadata: Metadata = { title: "Replicas" };

const sortLabels: Record<ReplicaSortKey, string> = {
  name: "Source VM",
  site: "Site",
  state: "State",
  restore_point: "Last restore point",
  size: "Size",
};
const control = "mt-1 block rounded-md border-0 py-2 pl-3 pr-8 text-sm ring-1 ring-inset ring-slate-300";

export default async function ReplicasPage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const { actor, allowed } = await actorWithPermission("replica.read", "replicas");
  if (!allowed) return <NotPermitted what="the replicas" />;
  const search = parseReplicaSearch(await searchParams);
  const [result, sites] = await Promise.all([searchReplicas(db(), search), listReplicaSites(db())]);
  const filtered = Boolean(search.name || search.states || search.siteId);

  const rows: ReplicaTableRow[] = result.rows.map((r) => {
    const move = dataToMove(r.state, r.sizeBytes, r.failedOverFromSeq, {
      bytes: r.estimatedChangedBytes,
      note: r.estimateNote,
      at: r.estimatedAt,
    });
    return {
      id: r.id,
      state: r.state,
      replicationOnHold: r.replicationOnHold,
      sourceVmName: r.sourceVmName,
      sourceSiteName: r.sourceSiteName,
      replicaVmName: r.replicaVmName,
      replicaSiteName: r.replicaSiteName,
      lastRestorePointSeq: r.lastRestorePointSeq,
      lastRestorePointAt: r.lastRestorePointAt ? utcText(r.lastRestorePointAt) : null,
      failedOverFromSeq: r.failedOverFromSeq,
      sizeBytes: r.sizeBytes,
      disks: r.disks,
      moveText: move.text,
      moveExplanation: move.explanation,
      liveSessionId: r.liveSessionId,
    };
  });
  const sortLinks: SortLink[] = (Object.keys(sortLabels) as ReplicaSortKey[]).map((key) => {
    const active = search.sort === key;
    return {
      key,
      label: sortLabels[key],
      href: replicasHref(search, {
        sort: key,
        direction: active && search.direction === "asc" ? "desc" : "asc",
        page: 1,
      }),
      active: active ? (search.direction === "asc" ? "ascending" : "descending") : null,
    };
  });

  return (
    <>
      <PageHeader
        title="Replicas"
        description="Copies of your production VMs at the DR site, and where each one stands."
      />
      <form
        role="search"
        aria-label="Filter replicas"
        className="mb-4 flex flex-wrap items-end gap-3"
        action="/replicas"
      >
        <div>
          <label htmlFor="q" className="block text-sm font-medium text-slate-700">
            Name
          </label>
          <input
            id="q"
            name="q"
            defaultValue={search.name ?? ""}
            placeholder="VM or replica name"
            className="mt-1 block rounded-md border-0 px-3 py-2 text-sm ring-1 ring-inset ring-slate-300"
          />
        </div>
        <div>
          <label htmlFor="state" className="block text-sm font-medium text-slate-700">
            State
          </label>
          <select id="state" name="state" defaultValue={search.states?.[0] ?? ""} className={control}>
            <option value="">any</option>
            {replicaStates.map((s) => (
              <option key={s} value={s}>
                {replicaStateLabels[s]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="site" className="block text-sm font-medium text-slate-700">
            Site
          </label>
          <select id="site" name="site" defaultValue={search.siteId ?? ""} className={control}>
            <option value="">any</option>
            {sites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="size" className="block text-sm font-medium text-slate-700">
            Per page
          </label>
          <select id="size" name="size" defaultValue={String(search.pageSize)} className={control}>
            {pageSizes.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        {search.sort !== "name" ? <input type="hidden" name="sort" value={search.sort} /> : null}
        {search.direction !== "asc" ? <input type="hidden" name="dir" value={search.direction} /> : null}
        <button
          type="submit"
          className="rounded-md bg-white px-3 py-2 text-sm font-medium ring-1 ring-slate-300 hover:bg-slate-50"
        >
          Filter
        </button>
        {filtered ? (
          <Link href="/replicas" className="py-2 text-sm text-teal-800 hover:underline">
            Clear
          </Link>
        ) : null}
      </form>
      {result.total === 0 && !filtered ? (
        <EmptyState title="No replicas yet">
          <p>
            Replicas appear here once hosts are registered and VMs are replicated. To try the product with a lab of real
            QEMU VMs, run <code className="rounded bg-slate-100 px-1">npm run lab -- create</code> and reload this page.
          </p>
        </EmptyState>
      ) : (
        <>
          <ReplicaTable rows={rows} sortLinks={sortLinks} canStart={can(actor.role, "failback.start")} />
          <Pagination
            page={result.page}
            pageSize={result.pageSize}
            total={result.total}
            hrefFor={(page) => replicasHref(search, { page })}
          />
        </>
      )}
    </>
  );
}
