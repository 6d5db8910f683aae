// Sign-in throttling, per account and per client, in the database so every app instance shares it.
import { and, count, eq, gt, lt } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { signInAttempts } from "@/lib/db/schema";

export interface SignInLimits {
  maxPerAccount: number;
  maxPerClient: number;
  windowSeconds: number;
}

export async function isThrottled(db: DbOrTx, account: string, client: string, limits: SignInLimits): Promise<boolean> {
  const since = new Date(Date.now() - limits.windowSeconds * 1000);
  const failed = (column: typeof signInAttempts.account | typeof signInAttempts.client, value: string) =>
    db
      .select({ n: count() })
      .from(signInAttempts)
      .where(and(eq(column, value), eq(signInAttempts.succeeded, false), gt(signInAttempts.at, since)));
  const [[perAccount], [perClient]] = await Promise.all([
    failed(signInAttempts.account, account),
    failed(signInAttempts.client, client),
  ]);
  return (perAccount?.n ?? 0) >= limits.maxPerAccount || (perClient?.n ?? 0) >= limits.maxPerClient;
}

export async function recordSignInAttempt(db: DbOrTx, account: string, client: string, succeeded: boolean) {
  await db.insert(signInAttempts).values({ account, client, succeeded });
  if (succeeded) {
    // A successful sign-in clears the account's failures, so its owner is not locked out by their own typos.
    await db
      .delete(signInAttempts)
      .where(and(eq(signInAttempts.account, account), eq(signInAttempts.succeeded, false)));
  }
}

export async function pruneSignInAttempts(db: DbOrTx, olderThan: Date) {
  await db.delete(signInAttempts).where(lt(signInAttempts.at, olderThan));
}
