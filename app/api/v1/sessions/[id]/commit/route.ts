// POST /api/v1/sessions/{id}/commit — see lib/api/session-actions.ts for its permission and body.
import { sessionActionRoute } from "@/lib/api/session-actions";

export const dynamic = "force-dynamic";

export const POST = sessionActionRoute("commit");
