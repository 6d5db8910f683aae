// Checking a sign-in: throttled per account and client address with growing waits, never locked (see
// rate-limit.ts); the same answer for an unknown user and a wrong password, after the same amount of work.
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { findUserByEmail, markSignedIn, normalizeEmail } from "@/lib/db/queries/users";
import type { User } from "@/lib/db/schema";
import { burnPasswordCheck, verifyPassword } from "./password";
import { admitSignInAttempt, signInSucceeded } from "./rate-limit";
import type { RequestInfo } from "./request-info";

export type SignInCheck = { ok: true; user: User } | { ok: false; reason: "invalid" | "throttled" };

export async function checkCredentials(
  db: Db,
  input: { email: string; password: string },
  request: RequestInfo,
): Promise<SignInCheck> {
  const account = normalizeEmail(input.email).slice(0, 320);
  const audit = (outcome: "ok" | "denied", reason: string, user?: User) =>
    appendAudit(db, {
      actorUserId: user?.id ?? null,
      actorLabel: account || "anonymous",
      action: "auth.sign_in",
      outcome,
      reason,
      clientIp: request.clientIp,
      userAgent: request.userAgent,
    });

  // Throttling keys on the account name as entered, whether or not such a user exists: both are answered alike.
  const admission = await admitSignInAttempt(db, account, request.clientIp, config().signIn);
  if (!admission.admitted) {
    await audit("denied", "throttled");
    return { ok: false, reason: "throttled" };
  }
  const user = account ? await findUserByEmail(db, account) : undefined;
  const passwordOk = user
    ? await verifyPassword(user.passwordHash, input.password)
    : await burnPasswordCheck(input.password);
  const ok = Boolean(user && passwordOk && !user.disabledAt);
  if (!ok || !user) {
    // The attempt stays recorded as a failure (admission claimed it as one).
    await audit("denied", user?.disabledAt && passwordOk ? "disabled" : "invalid credentials", user);
    return { ok: false, reason: "invalid" };
  }
  await signInSucceeded(db, admission.attempt);
  await markSignedIn(db, user.id);
  await audit("ok", "signed in", user);
  return { ok: true, user };
}
