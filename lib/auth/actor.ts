import { db, type Db } from "@/lib/db/client";
import { findLiveAuthSession } from "@/lib/db/queries/auth-sessions";
import type { UserRole } from "@/lib/db/schema";
import { auth } from "./auth";
import { currentRequestInfo, type RequestInfo } from "./request-info";

export interface Actor extends RequestInfo {
  userId: string;
  email: string;
  name: string;
  role: UserRole;
  /** The sign-in (auth_sessions row) the cookie named; an open event stream re-checks that it is still live. */
  authSessionId?: string;
}

/** What the session cookie claims, as the session callback in auth.ts exposes it. */
export interface SignInClaims {
  userId?: unknown;
  sessionVersion?: unknown;
  authSessionId?: unknown;
}

/**
 * The user a cookie's claims name, if they still stand at `now`: the sign-in's row must be neither revoked
 * (signed out) nor expired, and the user neither disabled nor changed since (session version bumped).
 */
export async function signedInUser(
  database: Db,
  claims: SignInClaims | null,
  now: Date = new Date(),
): Promise<Omit<Actor, keyof RequestInfo> | null> {
  if (typeof claims?.userId !== "string" || typeof claims.authSessionId !== "string") return null;
  const live = await findLiveAuthSession(database, claims.authSessionId, now);
  if (!live) return null;
  const { session, user } = live;
  if (user.id !== claims.userId || user.disabledAt || user.sessionVersion !== claims.sessionVersion) return null;
  return { userId: user.id, email: user.email, name: user.name, role: user.role, authSessionId: session.id };
}

/** Who is asking, checked against the database on every call (pages, server actions, the API's cookie path). */
export async function currentActor(): Promise<Actor | null> {
  // auth() first: it reads the request (which makes a page dynamic) before anything touches the database.
  const claims = (await auth()) as SignInClaims | null;
  const who = await signedInUser(db(), claims);
  if (!who) return null;
  return { ...who, ...(await currentRequestInfo()) };
}
