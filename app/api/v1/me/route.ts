// GET /api/v1/me — who the token or cookie belongs to, with the role and permissions it has right now
// (the command line's login checks its token here).
import { rolePermissions } from "@/lib/auth/permissions";
import { jsonResponse } from "@/lib/api/json";
import { apiRoute } from "@/lib/api/route";

export const dynamic = "force-dynamic";

export const GET = apiRoute({
  operation: "api.me",
  permission: null,
  async run({ principal }) {
    return jsonResponse({
      userId: principal.userId,
      email: principal.email,
      role: principal.role,
      via: principal.via,
      token: principal.tokenPrefix,
      permissions: [...rolePermissions[principal.role]].sort(),
    });
  },
});
