// Checking a sign-in: throttled per account and per client; the same answer for an unknown user and a wrong
// password, after the same amount of work.
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { findUserByEmail, markSignedIn, normalizeEmail } from "@/lib/db/queries/users";
import type { User } from "@/lib/db/schema";
import { burnPasswordCheck, verifyPassword } from "./password";
import { isThrottled, recordSignInAttempt } from "./rate-limit";
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

  if (await isThrottled(db, account, request.clientIp, config().signIn)) {
    await audit("denied", "throttled");
    return { ok: false, reason: "throttled" };
  }
  const user = account ? await findUserByEmail(db, account) : undefined;
  const passwordOk = user
    ? await verifyPassword(user.passwordHash, input.password)
    : await burnPasswordCheck(input.password);
  const ok = Boolean(user && passwordOk && !user.disabledAt);
  await recordSignInAttempt(db, account, request.clientIp, ok);
  if (!ok || !user) {
    await audit("denied", user?.disabledAt && passwordOk ? "disabled" : "invalid credentials", user);
    return { ok: false, reason: "invalid" };
  }
  await markSignedIn(db, user.id);
  await audit("ok", "signed in", user);
  return { ok: true, user };
}
