// Cross-site protection for writes authenticated by the browser's cookie: a page on another site could make the
// browser send them (the cookie rides along), so a write must come from one of our own pages. Browsers send
// Origin on every cross-origin request and on every POST; `Origin: null` (sandboxed frames, some redirects) and
// a missing Origin are refused too. Token-authenticated requests need none of this: no browser adds a token.
import { config } from "@/lib/config";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

function ownHosts(request: Request): Set<string> {
  const hosts = new Set<string>([new URL(request.url).host]);
  const host = request.headers.get("host");
  if (host) hosts.add(host);
  // Behind a TLS-terminating proxy the public host arrives here, and only a trusted proxy may say so.
  const forwarded = request.headers.get("x-forwarded-host");
  if (forwarded && config().trustProxy) hosts.add(forwarded.split(",")[0]?.trim() ?? "");
  return hosts;
}

/** Why a cookie-authenticated request must be refused as cross-site, or null when it is our own page's. */
export function crossSiteRefusal(request: Request): string | null {
  if (safeMethods.has(request.method.toUpperCase())) return null;
  const origin = request.headers.get("origin");
  if (origin === null) return "cookie-authenticated write without an Origin header";
  if (origin === "null") return "cookie-authenticated write from Origin: null";
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return "cookie-authenticated write with a malformed Origin";
  }
  if (!ownHosts(request).has(originHost))
    return `cookie-authenticated write from another origin (${origin.slice(0, 200)})`;
  const fetchSite = request.headers.get("sec-fetch-site");
  if (fetchSite && fetchSite !== "same-origin" && fetchSite !== "none")
    return `cookie-authenticated write with Sec-Fetch-Site: ${fetchSite.slice(0, 40)}`;
  return null;
}
