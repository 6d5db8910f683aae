// API tokens: created and revoked by their owner on the profile page, looked up by hash on every API request.
import { and, count, desc, eq, isNull, lt, or } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { apiTokens, users, type ApiToken, type User } from "@/lib/db/schema";

/** What the profile page shows of a token: never its hash. */
export type ApiTokenListing = Omit<ApiToken, "secretHash">;

const listing = {
  id: apiTokens.id,
  userId: apiTokens.userId,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

export async function insertApiToken(
  db: DbOrTx,
  values: { userId: string; name: string; prefix: string; secretHash: string },
): Promise<ApiTokenListing> {
  const [row] = await db.insert(apiTokens).values(values).returning(listing);
  if (!row) throw new Error("api token insert returned nothing");
  return row;
}

/** The token with this hash and its user, revoked or not (the caller says why a token is refused). */
export async function findTokenByHash(
  db: DbOrTx,
  secretHash: string,
): Promise<{ token: ApiTokenListing; user: User } | undefined> {
  const [row] = await db
    .select({ token: listing, user: users })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.secretHash, secretHash));
  return row;
}

export async function findTokenById(db: DbOrTx, id: string): Promise<ApiTokenListing | undefined> {
  const [row] = await db.select(listing).from(apiTokens).where(eq(apiTokens.id, id));
  return row;
}

export async function listTokensOfUser(db: DbOrTx, userId: string): Promise<ApiTokenListing[]> {
  return db.select(listing).from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.createdAt));
}

export async function countLiveTokensOfUser(db: DbOrTx, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)));
  return row?.n ?? 0;
}

/** Revokes one of the user's own live tokens; another user's token id finds nothing. */
export async function revokeTokenOfUser(
  db: DbOrTx,
  userId: string,
  tokenId: string,
): Promise<ApiTokenListing | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .returning(listing);
  return row;
}

/** Records use at most once a minute, so a busy script does not write a row per request. */
export async function touchToken(db: DbOrTx, tokenId: string, now = new Date()): Promise<void> {
  const aMinuteAgo = new Date(now.getTime() - 60_000);
  await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(and(eq(apiTokens.id, tokenId), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, aMinuteAgo))));
}
