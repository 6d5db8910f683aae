// GET /api/v1/sessions/{id} — one session with its items, their steps and the switch schedule.
import { jsonResponse } from "@/lib/api/json";
import { apiRoute } from "@/lib/api/route";
import { sessionTarget } from "@/lib/api/targets";
import { pathId } from "@/lib/api/validation";
import { getSessionDetail } from "@/lib/db/queries/sessions";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ id: string }>({
  operation: "session.read",
  permission: "session.read",
  target: sessionTarget,
  async run({ params, db }) {
    const detail = await getSessionDetail(db, pathId(params.id, "failback session"));
    if (!detail) throw new AppError("NOT_FOUND", "No such failback session.");
    return jsonResponse(detail);
  },
});
