// GET /api/v1/replicas/{id} — one replica.
import { jsonResponse } from "@/lib/api/json";
import { apiRoute } from "@/lib/api/route";
import { replicaTarget } from "@/lib/api/targets";
import { pathId } from "@/lib/api/validation";
import { listReplicas } from "@/lib/db/queries/replicas";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ id: string }>({
  operation: "replica.read",
  permission: "replica.read",
  target: replicaTarget,
  async run({ params, db }) {
    const id = pathId(params.id, "replica");
    const replica = (await listReplicas(db)).find((r) => r.id === id);
    if (!replica) throw new AppError("NOT_FOUND", "No such replica.");
    return jsonResponse({ replica });
  },
});
