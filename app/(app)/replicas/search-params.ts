// The replicas page's state lives in its URL (shareable, back-button friendly): ?q=&state=&site=&sort=&dir=&page=&size=
import { replicaSortKeys, type ReplicaSearch, type ReplicaSortKey } from "@/lib/db/queries/replicas";
import { replicaStates, type ReplicaState } from "@/lib/db/schema";
import { pageNumber, searchText } from "@/lib/validation/text";

export type RawParams = Record<string, string | string[] | undefined>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const pageSizes = [25, 50, 100] as const;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function parseReplicaSearch(
  params: RawParams,
): Required<Pick<ReplicaSearch, "sort" | "direction" | "page" | "pageSize">> & ReplicaSearch {
  const states = [params.state ?? []]
    .flat()
    .filter((s): s is ReplicaState => (replicaStates as readonly string[]).includes(s));
  const site = first(params.site);
  const sort = first(params.sort);
  const size = Number(first(params.size));

  return {
    states: states.length ? states : undefined,
    siteId: site && uuidPattern.test(site) ? site : undefined,
    name: searchText(first(params.q)),
    sort: (replicaSortKeys as readonly string[]).includes(sort ?? "") ? (sort as ReplicaSortKey) : "name",
    direction: first(params.dir) === "desc" ? "desc" : "asc",
    page: pageNumber(first(params.page)),
    pageSize: (pageSizes as readonly number[]).includes(size) ? size : 50,
  };
}

/** The URL of this page with the current search and some parts changed. */
export function replicasHref(
  search: ReturnType<typeof parseReplicaSearch>,
  change: Partial<ReturnType<typeof parseReplicaSearch>>,
): string {
  const next = { ...search, ...change };
  const query = new URLSearchParams();
  if (next.name) query.set("q", next.name);
  for (const state of next.states ?? []) query.append("state", state);
  if (next.siteId) query.set("site", next.siteId);
  if (next.sort !== "name") query.set("sort", next.sort);
  if (next.direction !== "asc") query.set("dir", next.direction);
  if (next.pageSize !== 50) query.set("size", String(next.pageSize));
  if (next.page > 1) query.set("page", String(next.page));
  const text = query.toString();
  return text ? `/replicas?${text}` : "/replicas";
}
