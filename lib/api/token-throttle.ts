// Failed token authentications, counted per client in the sign-in attempts table (shared by every app
// instance). Guessing a 256-bit token is hopeless anyway; the throttle bounds the work and the audit rows a
// client can cause by hammering the API with bad tokens.
import type { DbOrTx } from "@/lib/db/client";
import { isThrottled, recordSignInAttempt } from "@/lib/auth/rate-limit";

export const tokenFailureLimits = { maxPerAccount: 30, maxPerClient: 30, windowSeconds: 900 };

/** Its own key space, so token failures never lock anyone out of the sign-in form (and the other way round). */
const keyOf = (clientIp: string) => `api-token:${clientIp}`;

export function tokenClientThrottled(db: DbOrTx, clientIp: string): Promise<boolean> {
  return isThrottled(db, keyOf(clientIp), keyOf(clientIp), tokenFailureLimits);
}

export function recordTokenFailure(db: DbOrTx, clientIp: string): Promise<void> {
  return recordSignInAttempt(db, keyOf(clientIp), keyOf(clientIp), false);
}
