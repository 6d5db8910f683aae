// Server actions posted from another site, refused by proxy.ts before Next.js sees them. Next.js has a check of
// its own, but it answers a foreign Origin with a 500 and lets `Origin: null` and a missing Origin through, and
// nothing of ours runs, so nothing is audited. Here every such post gets a 403 and is audited, by the same rule
// the API and the actions use (crossSiteRefusal): one audit row naming the signed-in user the browser was made to
// post for, or, with nobody signed in, a count in the anonymous refusals (a flood adds one row per minute).
import { crossSiteRefusal } from "@/lib/api/same-origin";
import { requestInfoFrom } from "@/lib/auth/request-info";
import type { DbOrTx } from "@/lib/db/client";
import { countAnonymousDenial } from "@/lib/db/queries/anonymous-denials";
import { appendAudit } from "@/lib/db/queries/audit";
import { describeError } from "@/lib/errors";

export const crossSiteActionAudit = "server_action.cross_site";

/**
 * A POST Next.js may run as a server action: one from the client router (Next-Action header), or a plain form
 * posted without JavaScript, which carries the action's id in its body — the classic cross-site form, which needs
 * no script on the other site. No page takes a form post of any other kind, so all of them are held to the rule.
 * The API's routes check their own (a token-authenticated call needs no Origin).
 */
export function isServerActionPost(request: Request): boolean {
  if (request.method.toUpperCase() !== "POST") return false;
  if (request.headers.has("next-action")) return true;
  const { pathname } = new URL(request.url);
  if (pathname === "/api" || pathname.startsWith("/api/")) return false;
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  return type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded");
}

export interface CrossSiteGuard {
  db: () => DbOrTx;
  /** Who is signed in on the browser that was made to send the post (the victim), for the audit row. */
  signedIn: () => Promise<{ userId: string; email: string } | null>;
}

/** The 403 for a server action posted from another site (audited), or null when the post may go on. */
export async function refuseCrossSiteAction(request: Request, guard: CrossSiteGuard): Promise<Response | null> {
  if (!isServerActionPost(request)) return null;
  const reason = crossSiteRefusal(request);
  if (!reason) return null;
  try {
    // Best effort: a broken or forged cookie must not turn the refusal into an error.
    const actor = await guard.signedIn().catch(() => null);
    const { clientIp, userAgent } = requestInfoFrom(request.headers);
    if (!actor) {
      await countAnonymousDenial(guard.db(), { clientIp, userAgent, action: crossSiteActionAudit, reason });
    } else {
      const action = request.headers.get("next-action");
      await appendAudit(guard.db(), {
        actorUserId: actor.userId,
        actorLabel: actor.email,
        action: crossSiteActionAudit,
        outcome: "denied",
        // The page the action was posted to; which action it was is only an opaque id (kept in the details).
        targetType: "page",
        targetId: new URL(request.url).pathname.slice(0, 100),
        reason,
        clientIp,
        userAgent,
        details: { via: "dashboard", method: "POST", ...(action ? { serverAction: action.slice(0, 100) } : {}) },
      });
    }
  } catch (err) {
    // The refusal stands even when it cannot be recorded.
    console.error(`[proxy] could not audit a cross-site server action: ${describeError(err, { withStack: true })}`);
  }
  return new Response("This request did not come from this site's own pages.\n", {
    status: 403,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}
