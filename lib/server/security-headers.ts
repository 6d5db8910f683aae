// The headers every answer carries, built in one place for both senders: proxy.ts (every request it sees, with a
// fresh script nonce) and next.config.ts (a nonce-less copy for anything the proxy does not answer for). Pure and
// free of Node-only imports so both can load it.

export interface PolicyOptions {
  /** This response's script nonce; without one, no inline script may run at all (the safe fallback). */
  nonce?: string;
  /** `next dev` only: React rebuilds server error stacks in the browser with eval. Never in production. */
  dev?: boolean;
}

/**
 * The Content-Security-Policy. Scripts: only those carrying this response's nonce (Next.js puts it on its own
 * scripts when it finds it in the request's CSP) and what they load ('strict-dynamic': the router's chunks);
 * 'self' is the fallback of browsers without 'strict-dynamic'. Styles: our stylesheet plus inline style
 * attributes (progress bars, chart swatches: `style={{ … }}`), which CSS cannot run script through; a style
 * nonce is left out on purpose, as it would make browsers ignore 'unsafe-inline' and block those attributes.
 * No page may be framed by anyone, including ourselves (clickjacking). connect-src 'self' keeps the session
 * page's EventSource (same origin) working.
 */
export function contentSecurityPolicy({ nonce, dev = false }: PolicyOptions = {}): string {
  const scripts = ["'self'"];
  if (nonce) scripts.push(`'nonce-${nonce}'`, "'strict-dynamic'");
  if (dev) scripts.push("'unsafe-eval'");
  const directives: [string, ...string[]][] = [
    ["default-src", "'self'"],
    ["script-src", ...scripts],
    ["style-src", "'self'", "'unsafe-inline'"],
    ["img-src", "'self'", "data:"],
    ["font-src", "'self'"],
    ["connect-src", "'self'"],
    ["object-src", "'none'"],
    ["base-uri", "'none'"],
    ["form-action", "'self'"],
    ["frame-ancestors", "'none'"],
  ];
  return directives.map((d) => d.join(" ")).join("; ");
}

export interface SecurityHeaders {
  "Content-Security-Policy": string;
  "X-Content-Type-Options": string;
  "Referrer-Policy": string;
  "X-Frame-Options": string;
}

/** The protective headers of one response: the CSP and the static ones no nonce is needed for. */
export function securityHeaders(options: PolicyOptions = {}): SecurityHeaders {
  return {
    "Content-Security-Policy": contentSecurityPolicy(options),
    "X-Content-Type-Options": "nosniff",
    // Our URLs (session ids, search terms) stay on our pages; other sites learn nothing from a link.
    "Referrer-Policy": "same-origin",
    // For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
  };
}

/** A fresh nonce: 128 random bits, base64 (the characters a CSP nonce allows; nothing HTML would escape). */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
