"use server";

import { currentActor } from "@/lib/auth/actor";
import { signOut } from "@/lib/auth/auth";
import { db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";

export async function signOutNow(): Promise<void> {
  const actor = await currentActor();
  if (actor) {
    await appendAudit(db(), {
      actorUserId: actor.userId,
      actorLabel: actor.email,
      action: "auth.sign_out",
      outcome: "ok",
      clientIp: actor.clientIp,
      userAgent: actor.userAgent,
    });
  }
  await signOut({ redirectTo: "/sign-in" });
}
