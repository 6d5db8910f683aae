// The role check of every API route, by the same permission names as the server actions.
import { can, type Permission } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { findTokenById } from "@/lib/db/queries/api-tokens";
import { findLiveAuthSession } from "@/lib/db/queries/auth-sessions";
import { findUserById } from "@/lib/db/queries/users";
import { authSessionOf } from "./cookie-auth";
import { ApiDenial } from "./denial";
import type { ApiPrincipal } from "./principal";

export function authorize(principal: ApiPrincipal, permission: Permission): void {
  if (!can(principal.role, permission)) {
    throw new ApiDenial(
      "FORBIDDEN",
      `Your role (${principal.role}) may not do this: it needs ${permission}.`,
      `missing permission ${permission}`,
      principal,
    );
  }
}

/**
 * For long-lived responses (event streams): whether the caller would still be let in now. The user must still
 * be enabled with the same session version and a role that has the permission; a token must not be revoked,
 * and a cookie's sign-in must be neither signed out nor past its end.
 */
export async function stillAllowed(db: Db, principal: ApiPrincipal, permission: Permission): Promise<boolean> {
  const user = await findUserById(db, principal.userId);
  if (!user || user.disabledAt || user.sessionVersion !== principal.sessionVersion || !can(user.role, permission))
    return false;
  if (principal.tokenId) {
    const token = await findTokenById(db, principal.tokenId);
    if (!token || token.revokedAt) return false;
  }
  if (principal.via === "cookie") {
    const sid = authSessionOf(principal);
    if (!sid || !(await findLiveAuthSession(db, sid, new Date()))) return false;
  }
  return true;
}
