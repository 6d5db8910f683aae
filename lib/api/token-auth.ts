// Authenticating an API token: the token must exist and be live, and its user must be enabled. The user row is
// read on every request, so the principal carries the user's role as it is now: a downgrade, a disable or a
// revocation takes effect on the very next request.
import type { Db } from "@/lib/db/client";
import { findTokenByHash, touchToken } from "@/lib/db/queries/api-tokens";
import type { RequestInfo } from "@/lib/auth/request-info";
import { ApiDenial } from "./denial";
import type { ApiPrincipal } from "./principal";
import { hashTokenSecret, looksLikeToken } from "./token-secret";
import { recordTokenFailure, tokenClientThrottled } from "./token-throttle";

// One answer for every kind of bad token, so a caller cannot tell a revoked token from one that never existed.
const refusedMessage = "The API token is not valid: it is unknown or revoked, or its user is disabled.";

export async function authenticateToken(db: Db, token: string, info: RequestInfo): Promise<ApiPrincipal> {
  const refuse = (reason: string, principal: ApiPrincipal | null = null): never => {
    throw new ApiDenial("UNAUTHENTICATED", refusedMessage, reason, principal);
  };
  // The presented token is looked up before the throttle is consulted, and only tokens that never existed are
  // counted — that is what guessing looks like — so a valid token is accepted whatever other tokens from the
  // same address did, and a script retrying its revoked token does not count either. (A throttled client's
  // well-formed token still costs one lookup: nothing else tells a valid token from a guess.)
  const refuseGuess = async (reason: string): Promise<never> => {
    if (await tokenClientThrottled(db, info.clientIp)) {
      throw new ApiDenial(
        "THROTTLED",
        "Too many requests with invalid API tokens from this client; wait a few minutes.",
        "api token failures throttled",
      );
    }
    await recordTokenFailure(db, info.clientIp);
    return refuse(reason);
  };
  if (!looksLikeToken(token)) return refuseGuess("malformed api token");
  const found = await findTokenByHash(db, hashTokenSecret(token));
  if (!found) return refuseGuess("unknown api token");
  const { token: row, user } = found;
  const principal: ApiPrincipal = {
    userId: user.id,
    email: user.email,
    role: user.role,
    via: "token",
    tokenId: row.id,
    tokenPrefix: row.prefix,
    sessionVersion: user.sessionVersion,
    ...info,
  };
  if (row.revokedAt) refuse("revoked api token", principal);
  if (user.disabledAt) refuse("api token of a disabled user", principal);
  // Best effort: a failed "last used" update must not fail the request it describes.
  await touchToken(db, row.id).catch(() => {});
  return principal;
}
