// Authenticating the browser's sign-in cookie (the dashboard calling the API): the same check every page and
// server action makes (currentActor: the sign-in must be neither signed out nor expired, the user unchanged),
// plus the cross-site rule for writes.
import type { Actor } from "@/lib/auth/actor";
import type { RequestInfo } from "@/lib/auth/request-info";
import type { Db } from "@/lib/db/client";
import { findUserById } from "@/lib/db/queries/users";
import { ApiDenial } from "./denial";
import type { ApiPrincipal } from "./principal";
import { crossSiteRefusal } from "./same-origin";

export const signInMessage = "Sign in, or send an API token as `Authorization: Bearer <token>`.";

export type CookieActorResolver = () => Promise<Actor | null>;

/** A cookie principal names its sign-in, so an open event stream can see it end (stillAllowed). */
export interface CookiePrincipal extends ApiPrincipal {
  via: "cookie";
  authSessionId: string | null;
}

/** The sign-in behind a cookie principal; null for a token, or a cookie principal that names none. */
export function authSessionOf(principal: ApiPrincipal): string | null {
  const id = principal.via === "cookie" ? (principal as Partial<CookiePrincipal>).authSessionId : null;
  return typeof id === "string" ? id : null;
}

/**
 * The signed-in user of the request's cookie. Loaded on demand: only cookie requests need next-auth, and
 * outside Next's request scope (a test calling a handler) there is no cookie session to find — the same answer
 * as an invalid cookie.
 */
export const actorFromCookie: CookieActorResolver = async () => {
  try {
    const { currentActor } = await import("@/lib/auth/actor");
    return await currentActor();
  } catch {
    return null;
  }
};

export async function authenticateCookie(
  db: Db,
  request: Request,
  info: RequestInfo,
  resolveActor: CookieActorResolver = actorFromCookie,
): Promise<ApiPrincipal> {
  const actor = await resolveActor();
  const user = actor ? await findUserById(db, actor.userId) : undefined;
  if (!actor || !user) throw new ApiDenial("UNAUTHENTICATED", signInMessage, "no valid sign-in cookie");
  const principal: CookiePrincipal = {
    userId: actor.userId,
    email: actor.email,
    role: actor.role,
    via: "cookie",
    tokenId: null,
    tokenPrefix: null,
    sessionVersion: user.sessionVersion,
    clientIp: info.clientIp,
    userAgent: info.userAgent,
    authSessionId: actor.authSessionId ?? null,
  };
  const crossSite = crossSiteRefusal(request);
  if (crossSite)
    throw new ApiDenial(
      "FORBIDDEN",
      "Cross-site requests are refused: call the API from this site's own pages, or with an API token.",
      crossSite,
      principal,
    );
  return principal;
}
