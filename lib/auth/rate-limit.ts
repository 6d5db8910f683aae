// Sign-in throttling without a lockout anyone else can cause. Kept in the database so every app instance
// shares it; the `sign_in_attempts` rows are failures (and successes) keyed by (account, client address).
//
// What is counted: failures of one account from one client address (the pair), within the window.
// - A pair's first `freeFailures` failures cost nothing. After that, each further attempt of the pair must
//   wait `delaySeconds` after the pair's latest failure, doubling with every further failure up to
//   `maxDelaySeconds` (1 s, 2 s, 4 s … 5 min by default). An attempt inside the wait is answered "throttled"
//   without the password being checked, and is not counted: an owner retrying too early never makes their own
//   wait longer, and the wait after a failure never exceeds the cap.
// - A success clears the pair's failures.
// - The address as a whole (`clientFreeFailures` failures over all accounts) only makes the waits of its own
//   failed pairs start sooner and grow from its total: a sprayer past its allowance gets one guess per account,
//   then one per account per capped wait, instead of the free allowance on each account.
//
// Why no limit on the address alone: any wait or refusal that stops an account's right password from an
// address that has not itself failed for that account hands a lockout to whoever shares the address (NAT,
// office proxy, a reverse proxy without FAILBACK_TRUST_PROXY) or can fail on purpose from it — the finding this
// design fixes. So an account never waits at an address until that address has failed for it. The price: a
// sprayer's first guess at each account is always checked (argon2 work included); raw request rates belong to
// the reverse proxy in front. An attacker elsewhere cannot slow the owner at all; one at the owner's own
// address can only slow that pair, by at most the cap after its own latest failure.
//
// Guesses fired together must not all be checked: admission (read the counts, claim the attempt as a failure
// until it succeeds) is serialized per pair with a transaction-scoped advisory lock, held for two statements,
// never during the password check.
import { isIPv6 } from "node:net";
import { and, count, eq, gt, lt, ne, sql } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { signInAttempts } from "@/lib/db/schema";

export interface SignInLimits {
  /** Failures of one account from one client before that pair waits. */
  freeFailures: number;
  /** Failures of one client over all accounts after which its failed pairs wait from their first failure. */
  clientFreeFailures: number;
  /** The first wait; each further failure doubles it. */
  delaySeconds: number;
  maxDelaySeconds: number;
  /** How long a failure counts. */
  windowSeconds: number;
}

export type Admission =
  | { admitted: true; attempt: { id: number; account: string; client: string } }
  | { admitted: false; retryAfterSeconds: number };

/**
 * The throttled party for an address: an IPv4 address, or an IPv6 address's /64 (one site's network, whose
 * addresses its owner can rotate through at will).
 */
export function clientKey(clientIp: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(clientIp);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(clientIp)) return clientIp;
  const [head = "", tail] = (clientIp.split("%")[0] ?? "").split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // A trailing dotted IPv4 part stands for two groups; it is never among the first four.
  const rightWidth = right.length + (right.at(-1)?.includes(".") ? 1 : 0);
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - rightWidth).fill("0"), ...right];
  const prefix = groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16));
  return `${prefix.join(":")}::/64`;
}

/** Seconds an attempt of a pair must wait after the pair's latest failure (0: no wait). */
export function waitSeconds(pairFailures: number, clientFailures: number, limits: SignInLimits): number {
  if (pairFailures === 0) return 0;
  const beyond = Math.max(pairFailures - limits.freeFailures, clientFailures - limits.clientFreeFailures);
  if (beyond < 0) return 0;
  return Math.min(limits.maxDelaySeconds, limits.delaySeconds * 2 ** Math.min(beyond, 40));
}

/** Failures of `client` within the window: the condition shared by the sign-in and API token throttles. */
export function recentFailuresOf(client: string, windowSeconds: number) {
  return and(
    eq(signInAttempts.client, client),
    eq(signInAttempts.succeeded, false),
    gt(signInAttempts.at, sql`now() - ${windowSeconds} * interval '1 second'`),
  );
}

/** Either a throttled answer, or the attempt claimed (recorded as a failure until `signInSucceeded`). */
export function admitSignInAttempt(
  db: DbOrTx,
  account: string,
  clientIp: string,
  limits: SignInLimits,
): Promise<Admission> {
  const client = clientKey(clientIp);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`sign-in\n${account}\n${client}`}, 0))`);
    const ofPair = sql`${signInAttempts.account} = ${account}`;
    const [seen] = await tx
      .select({
        clientFailures: count(),
        pairFailures: sql<number>`count(*) filter (where ${ofPair})`.mapWith(Number),
        sinceLast: sql<number>`extract(epoch from now() - max(${signInAttempts.at}) filter (where ${ofPair}))`.mapWith(
          Number,
        ),
      })
      .from(signInAttempts)
      .where(recentFailuresOf(client, limits.windowSeconds));
    const wait = waitSeconds(seen?.pairFailures ?? 0, seen?.clientFailures ?? 0, limits);
    const waited = seen?.sinceLast ?? Infinity;
    if (waited < wait) return { admitted: false, retryAfterSeconds: Math.ceil(wait - waited) };
    const [row] = await tx
      .insert(signInAttempts)
      .values({ account, client, succeeded: false })
      .returning({ id: signInAttempts.id });
    if (!row) throw new Error("sign-in attempt was not recorded");
    return { admitted: true, attempt: { id: row.id, account, client } };
  });
}

/** The claimed attempt succeeded: it is recorded as such and its pair's failures are forgotten. */
export async function signInSucceeded(db: DbOrTx, attempt: { id: number; account: string; client: string }) {
  await db.update(signInAttempts).set({ succeeded: true }).where(eq(signInAttempts.id, attempt.id));
  await db
    .delete(signInAttempts)
    .where(
      and(
        eq(signInAttempts.account, attempt.account),
        eq(signInAttempts.client, attempt.client),
        eq(signInAttempts.succeeded, false),
        ne(signInAttempts.id, attempt.id),
      ),
    );
}

export async function pruneSignInAttempts(db: DbOrTx, olderThan: Date) {
  await db.delete(signInAttempts).where(lt(signInAttempts.at, olderThan));
}
