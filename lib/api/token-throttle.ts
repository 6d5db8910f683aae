// Failed token authentications, counted per client in the sign-in attempts table (shared by every app
// instance). Guessing a 256-bit token is hopeless anyway; the throttle bounds the rows a client can add by
// hammering the API with bad tokens. It only ever answers failing tokens (token-auth.ts looks the presented
// token up first), so a valid token is never refused because of other tokens' failures.
import { count } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { signInAttempts } from "@/lib/db/schema";
import { clientKey, recentFailuresOf } from "@/lib/auth/rate-limit";

/** Past this many failures within the window, a client's bad tokens are answered THROTTLED and not counted. */
export const tokenFailureLimits = { maxPerClient: 30, windowSeconds: 900 };

/** Its own key space, so token failures never slow anyone at the sign-in form (and the other way round). */
const keyOf = (clientIp: string) => `api-token:${clientKey(clientIp)}`;

export async function tokenClientThrottled(db: DbOrTx, clientIp: string): Promise<boolean> {
  const [row] = await db
    .select({ n: count() })
    .from(signInAttempts)
    .where(recentFailuresOf(keyOf(clientIp), tokenFailureLimits.windowSeconds));
  return (row?.n ?? 0) >= tokenFailureLimits.maxPerClient;
}

export async function recordTokenFailure(db: DbOrTx, clientIp: string): Promise<void> {
  await db.insert(signInAttempts).values({ account: keyOf(clientIp), client: keyOf(clientIp), succeeded: false });
}
