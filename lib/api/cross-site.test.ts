// Cross-site protection for cookie-authenticated writes (S3): a write must carry our own Origin; `Origin: null`,
// another origin, a missing Origin and a cross-site Sec-Fetch-Site are refused. Reads and token requests are
// not subject to it (a browser never adds a token on its own).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import type { Actor } from "@/lib/auth/actor";
import { authenticateCookie } from "./cookie-auth";
import { ApiDenial } from "./denial";
import { crossSiteRefusal } from "./same-origin";
import { userWithToken, type TokenUser } from "./testing/fixtures";

const database = testDatabase();
let operator: TokenUser;
let signedIn: Actor;

beforeAll(async () => {
  operator = await userWithToken(database.db, "operator");
  signedIn = {
    userId: operator.user.id,
    email: operator.user.email,
    name: operator.user.name,
    role: "operator",
    clientIp: "10.2.0.1",
    userAgent: "vitest",
  };
});
afterAll(() => database.close());

const request = (method: string, headers: Record<string, string>) =>
  new Request("http://failback.example:3000/api/v1/sessions/x/commit", { method, headers });

describe("crossSiteRefusal", () => {
  it.each([
    ["another origin", { origin: "https://evil.example" }],
    ["another port of the same host", { origin: "http://failback.example:4000" }],
    ["Origin: null", { origin: "null" }],
    ["no Origin at all", {}],
    ["a malformed Origin", { origin: "::::" }],
    [
      "a cross-site fetch that claims our origin",
      { origin: "http://failback.example:3000", "sec-fetch-site": "cross-site" },
    ],
  ])("refuses a write with %s", (_what, headers) => {
    expect(crossSiteRefusal(request("POST", headers))).toEqual(expect.any(String));
  });

  it("accepts a write from our own origin, by URL or by Host header", () => {
    expect(
      crossSiteRefusal(request("POST", { origin: "http://failback.example:3000", "sec-fetch-site": "same-origin" })),
    ).toBeNull();
    const proxied = new Request("http://127.0.0.1:3000/api/v1/sessions", {
      method: "POST",
      headers: { host: "failback.example", origin: "https://failback.example" },
    });
    expect(crossSiteRefusal(proxied)).toBeNull();
  });

  it("leaves reads alone (another site cannot read the answer without CORS)", () => {
    expect(crossSiteRefusal(request("GET", { origin: "https://evil.example" }))).toBeNull();
  });
});

describe("cookie authentication", () => {
  const info = { clientIp: "10.2.0.1", userAgent: "vitest" };

  it("turns a signed-in browser into a principal with the user's current session version", async () => {
    const principal = await authenticateCookie(
      database.db,
      request("POST", { origin: "http://failback.example:3000" }),
      info,
      async () => signedIn,
    );
    expect(principal).toMatchObject({
      userId: operator.user.id,
      via: "cookie",
      role: "operator",
      sessionVersion: operator.user.sessionVersion,
      tokenId: null,
    });
  });

  it("refuses a cross-site write as FORBIDDEN, naming the user for the audit row", async () => {
    const attempt = authenticateCookie(database.db, request("POST", { origin: "null" }), info, async () => signedIn);
    await expect(attempt).rejects.toBeInstanceOf(ApiDenial);
    await expect(attempt).rejects.toMatchObject({
      code: "FORBIDDEN",
      reason: expect.stringContaining("Origin: null"),
      principal: { userId: operator.user.id },
    });
  });

  it("refuses a cookie that names no signed-in user", async () => {
    await expect(authenticateCookie(database.db, request("GET", {}), info, async () => null)).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
    });
  });
});
