"use server";

import { currentActor } from "@/lib/auth/actor";
import { signOut } from "@/lib/auth/auth";
import { db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { revokeAuthSession } from "@/lib/db/queries/auth-sessions";

export async function signOutNow(): Promise<void> {
  const actor = await currentActor();
  if (actor) {
    // Ends the sign-in on the server: clearing the browser's cookie alone leaves any copy of it working.
    if (actor.authSessionId) await revokeAuthSession(db(), actor.authSessionId);
    await appendAudit(db(), {
      actorUserId: actor.userId,
      actorLabel: actor.email,
      action: "auth.sign_out",
      outcome: "ok",
      clientIp: actor.clientIp,
      userAgent: actor.userAgent,
    });
  }
  // Also revokes the cookie's sign-in when there is no actor (a disabled user, say): see events.signOut.
  await signOut({ redirectTo: "/sign-in" });
}
