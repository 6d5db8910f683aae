import { db } from "@/lib/db/client";
import { findUserById } from "@/lib/db/queries/users";
import type { UserRole } from "@/lib/db/schema";
import { auth } from "./auth";
import { currentRequestInfo, type RequestInfo } from "./request-info";

export interface Actor extends RequestInfo {
  userId: string;
  email: string;
  name: string;
  role: UserRole;
}

/**
 * Who is asking, checked against the database on every call: a disabled user, or one whose role changed
 * (session version bumped) since their token was issued, is nobody.
 */
export async function currentActor(): Promise<Actor | null> {
  const session = (await auth()) as { userId?: string; sessionVersion?: number } | null;
  if (!session?.userId) return null;
  const user = await findUserById(db(), session.userId);
  if (!user || user.disabledAt || user.sessionVersion !== session.sessionVersion) return null;
  return { userId: user.id, email: user.email, name: user.name, role: user.role, ...(await currentRequestInfo()) };
}
