// The browser-side protections as sent (S5): no framing, scripts only by this response's nonce, never
// 'unsafe-inline' or 'unsafe-eval' for scripts in production, and the static headers alongside.
import { describe, expect, it } from "vitest";
import { contentSecurityPolicy, newNonce, securityHeaders } from "./security-headers";

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(";").map((part) => {
      const [name = "", ...sources] = part.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

describe("contentSecurityPolicy", () => {
  it("lets only scripts with this response's nonce run, and whatever they load", () => {
    const policy = directives(contentSecurityPolicy({ nonce: "abc123+/=" }));
    expect(policy.get("script-src")).toEqual(["'self'", "'nonce-abc123+/='", "'strict-dynamic'"]);
  });

  it("allows no inline script and no eval, with or without a nonce", () => {
    for (const policy of [contentSecurityPolicy({ nonce: newNonce() }), contentSecurityPolicy()]) {
      const scripts = directives(policy).get("script-src") ?? [];
      expect(scripts).not.toContain("'unsafe-inline'");
      expect(scripts).not.toContain("'unsafe-eval'");
    }
  });

  it("without a nonce, allows our own script files only (the fallback for answers the proxy does not see)", () => {
    expect(directives(contentSecurityPolicy()).get("script-src")).toEqual(["'self'"]);
  });

  it("adds eval for `next dev` only", () => {
    expect(directives(contentSecurityPolicy({ nonce: "n", dev: true })).get("script-src")).toContain("'unsafe-eval'");
  });

  it("forbids framing, plugins and foreign bases, forms and connections", () => {
    const policy = directives(contentSecurityPolicy({ nonce: "n" }));
    expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
    expect(policy.get("object-src")).toEqual(["'none'"]);
    expect(policy.get("base-uri")).toEqual(["'none'"]);
    expect(policy.get("form-action")).toEqual(["'self'"]);
    expect(policy.get("connect-src")).toEqual(["'self'"]);
    expect(policy.get("default-src")).toEqual(["'self'"]);
  });

  it("allows inline styles (style attributes) but no style nonce, which would make browsers block them", () => {
    const styles = directives(contentSecurityPolicy({ nonce: "n" })).get("style-src") ?? [];
    expect(styles).toEqual(["'self'", "'unsafe-inline'"]);
  });

  it("is one header line: directives separated by '; ', no line breaks", () => {
    expect(contentSecurityPolicy({ nonce: "n" })).not.toMatch(/[\r\n]/);
    expect(contentSecurityPolicy({ nonce: "n" })).toMatch(/^default-src 'self'; script-src /);
  });
});

describe("securityHeaders", () => {
  it("sends the CSP with nosniff, a same-origin referrer and the legacy frame refusal", () => {
    expect(securityHeaders({ nonce: "n" })).toEqual({
      "Content-Security-Policy": contentSecurityPolicy({ nonce: "n" }),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
      "X-Frame-Options": "DENY",
    });
  });
});

describe("newNonce", () => {
  it("is 128 random bits in base64, different every time", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newNonce()));
    expect(seen.size).toBe(1000);
    for (const nonce of seen) {
      expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(Buffer.from(nonce, "base64")).toHaveLength(16);
    }
  });
});
