// The shape of an API token: `fbk_` and 43 characters of base64url (32 random bytes). Only the SHA-256 of the
// whole token is stored; with 256 random bits a slow password hash would add nothing but latency per request.
import crypto from "node:crypto";

export const tokenMarker = "fbk_";
const tokenPattern = /^fbk_[A-Za-z0-9_-]{43}$/;
/** `fbk_` plus 8 characters: enough to tell tokens apart in a list, far too little to guess the rest. */
const prefixLength = tokenMarker.length + 8;

export interface NewTokenSecret {
  /** Shown to its owner once, never stored. */
  token: string;
  prefix: string;
  secretHash: string;
}

export function hashTokenSecret(token: string): string {
  return crypto.createHash("sha256").update(token, "utf8").digest("hex");
}

export function newTokenSecret(): NewTokenSecret {
  const token = tokenMarker + crypto.randomBytes(32).toString("base64url");
  return { token, prefix: token.slice(0, prefixLength), secretHash: hashTokenSecret(token) };
}

/** Whether a string could be a token at all (anything else is refused without a database lookup). */
export function looksLikeToken(value: string): boolean {
  return tokenPattern.test(value);
}
