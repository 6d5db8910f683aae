// How long one sign-in lasts, from the moment the password was checked: renewing the cookie (every read of the
// session does) never moves this end, so a copied cookie is worth at most this long even if never signed out.

export const sessionLifetimeSeconds = 12 * 60 * 60;

/** Whole seconds left of a sign-in that began at `signedInAt` (epoch seconds); 0 once it is over or unknown. */
export function secondsLeft(signedInAt: unknown, nowMs: number = Date.now()): number {
  if (typeof signedInAt !== "number" || !Number.isFinite(signedInAt)) return 0;
  return Math.max(0, Math.floor(signedInAt + sessionLifetimeSeconds - nowMs / 1000));
}
