// GET /api/v1/replicas?state=&site=&name= — the replicas, optionally filtered.
import { queryOf, replicaListQuery } from "@/lib/api/inputs";
import { jsonResponse } from "@/lib/api/json";
import { filterReplicas } from "@/lib/api/replica-filter";
import { apiRoute } from "@/lib/api/route";
import { validate } from "@/lib/errors";
import { listReplicas } from "@/lib/db/queries/replicas";

export const dynamic = "force-dynamic";

export const GET = apiRoute({
  operation: "replica.list",
  permission: "replica.read",
  async run({ request, db }) {
    const filter = validate(replicaListQuery, queryOf(request), "Some of the filters are not valid.");
    return jsonResponse({ replicas: filterReplicas(await listReplicas(db), filter) });
  },
});
