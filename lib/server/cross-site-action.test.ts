// Server actions posted from another site (S3), as proxy.ts refuses them: which posts count as server actions,
// and that each refusal is a 403, audited (real PostgreSQL): one row naming the signed-in victim, or a count among
// the anonymous refusals when nobody is signed in.
import crypto from "node:crypto";
import { afterAll, describe, expect, it, vi } from "vitest";
import { clientIpHeader } from "@/lib/auth/client-ip-header";
import { testDatabase } from "@/lib/testing/db";
import { crossSiteActionAudit, isServerActionPost, refuseCrossSiteAction } from "./cross-site-action";

const database = testDatabase();
afterAll(() => database.close());

const post = (path: string, headers: Record<string, string>, method = "POST") =>
  new Request(`http://failback.example:3000${path}`, { method, headers });

const ownOrigin = "http://failback.example:3000";
const nobody = async () => null;

async function deniedRowsOf(clientIp: string) {
  return database.sql`
    select action, outcome, reason, actor_user_id, actor_label, target_type, target_id, client_ip, user_agent, details
    from audit_log where client_ip = ${clientIp} order by id`;
}

/** A client's anonymous refusals, by "action: reason", whether still counting or already written for its minute. */
async function anonymousRefusalsOf(clientIp: string): Promise<Record<string, number>> {
  const counting = await database.sql`select actions from anonymous_denials where client_ip = ${clientIp}`;
  const written = await database.sql`
    select details -> 'refused' as actions from audit_log where client_ip = ${clientIp} and action = 'anonymous.denied'`;
  const total: Record<string, number> = {};
  for (const { actions } of [...counting, ...written])
    for (const [key, n] of Object.entries(actions as Record<string, number>)) total[key] = (total[key] ?? 0) + n;
  return total;
}

describe("isServerActionPost", () => {
  it("is a POST with a Next-Action header, wherever it goes", () => {
    expect(isServerActionPost(post("/users", { "next-action": "7f00" }))).toBe(true);
    expect(isServerActionPost(post("/api/v1/me", { "next-action": "7f00" }))).toBe(true);
  });

  it("is a form posted to a page without JavaScript (the action's id is in the body)", () => {
    expect(isServerActionPost(post("/profile", { "content-type": "multipart/form-data; boundary=x" }))).toBe(true);
    expect(isServerActionPost(post("/", { "content-type": "application/x-www-form-urlencoded" }))).toBe(true);
  });

  it("is not an API call, a read, or a post that no page would take as a form", () => {
    expect(isServerActionPost(post("/api/v1/sessions", { "content-type": "multipart/form-data; boundary=x" }))).toBe(
      false,
    );
    expect(isServerActionPost(post("/api/auth/signout", { "content-type": "application/x-www-form-urlencoded" }))).toBe(
      false,
    );
    expect(isServerActionPost(post("/users", { "next-action": "7f00" }, "GET"))).toBe(false);
    expect(isServerActionPost(post("/users", { "content-type": "application/json" }))).toBe(false);
  });
});

describe("refuseCrossSiteAction", () => {
  it.each([
    ["another origin", { origin: "https://evil.example" }, "cookie-authenticated write from another origin"],
    ["Origin: null", { origin: "null" }, "cookie-authenticated write from Origin: null"],
    ["no Origin", {}, "cookie-authenticated write without an Origin header"],
    [
      "a cross-site fetch that claims our origin",
      { origin: ownOrigin, "sec-fetch-site": "cross-site" },
      "cookie-authenticated write with Sec-Fetch-Site: cross-site",
    ],
  ])("refuses %s with 403 and audits it under the signed-in user", async (_what, headers, reason) => {
    const clientIp = `10.9.${crypto.randomInt(256)}.${crypto.randomInt(256)}`;
    const userId = crypto.randomUUID();
    const refused = await refuseCrossSiteAction(
      post("/users", { ...headers, "next-action": "7f00aa", [clientIpHeader]: clientIp, "user-agent": "victim" }),
      { db: () => database.db, signedIn: async () => ({ userId, email: "victim@failback.local" }) },
    );
    expect(refused?.status).toBe(403);
    expect(await refused?.text()).toMatch(/did not come from this site/);
    const rows = await deniedRowsOf(clientIp);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: crossSiteActionAudit,
      outcome: "denied",
      actor_user_id: userId,
      actor_label: "victim@failback.local",
      target_type: "page",
      target_id: "/users",
      client_ip: clientIp,
      user_agent: "victim",
      details: { via: "dashboard", method: "POST", serverAction: "7f00aa" },
    });
    expect(rows[0]?.reason).toContain(reason);
  });

  it("counts an anonymous post among the anonymous refusals, also when reading the sign-in fails", async () => {
    for (const signedIn of [nobody, () => Promise.reject(new Error("forged cookie"))]) {
      const clientIp = `10.9.${crypto.randomInt(256)}.${crypto.randomInt(256)}`;
      const refused = await refuseCrossSiteAction(
        post("/", { origin: "null", "content-type": "multipart/form-data; boundary=x", [clientIpHeader]: clientIp }),
        { db: () => database.db, signedIn },
      );
      expect(refused?.status).toBe(403);
      expect(await anonymousRefusalsOf(clientIp)).toEqual({
        [`${crossSiteActionAudit}: cookie-authenticated write from Origin: null`]: 1,
      });
      // No row of its own: a flood of them adds one row per client and minute.
      expect(await deniedRowsOf(clientIp)).toEqual([]);
    }
  });

  it("still refuses when the audit cannot be written", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const refused = await refuseCrossSiteAction(post("/users", { origin: "null", "next-action": "7f00" }), {
      db: () => {
        throw new Error("database down");
      },
      signedIn: nobody,
    });
    expect(refused?.status).toBe(403);
    expect(logged).toHaveBeenCalledOnce();
    logged.mockRestore();
  });

  it("lets our own pages' posts and everything that is not a server action through, recording nothing", async () => {
    const clientIp = `10.9.${crypto.randomInt(256)}.${crypto.randomInt(256)}`;
    const guard = { db: () => database.db, signedIn: nobody };
    const own = { origin: ownOrigin, "sec-fetch-site": "same-origin", [clientIpHeader]: clientIp };
    expect(await refuseCrossSiteAction(post("/users", { ...own, "next-action": "7f00" }), guard)).toBeNull();
    expect(await refuseCrossSiteAction(post("/users", { "next-action": "7f00" }, "GET"), guard)).toBeNull();
    // The API answers for its own posts (a token needs no Origin).
    const apiPost = post("/api/v1/sessions", { origin: "https://evil.example", [clientIpHeader]: clientIp });
    expect(await refuseCrossSiteAction(apiPost, guard)).toBeNull();
    expect(await deniedRowsOf(clientIp)).toHaveLength(0);
  });
});
