// S3: a server action is a cookie-authenticated POST, so a page on another site could make a signed-in
// browser send one. The admin's own create-user request, replayed with their cookies but from another origin,
// with `Origin: null` or with no Origin, is refused with 403 before Next.js or the action sees it, and each
// refusal leaves an audit row naming who was signed in (with nobody signed in, a count among the anonymous
// refusals); the same bytes from our own origin work.
import { expect, test } from "@playwright/test";
import { captureActionPost } from "./support/capture-action";
import { e2eDatabase } from "./support/db";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("server actions refuse cross-site, Origin: null and Origin-less requests with 403, audited", async ({
  page,
  playwright,
}) => {
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    await page.goto("/users");
    const email = `cross-site-${e2eRun.id}@failback.local`.toLowerCase();
    const form = page.getByRole("form", { name: "Create user" });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Name").fill("Cross Site");
    await form.getByLabel("Role").selectOption("admin");
    await form.getByLabel("Initial password").fill("cross-site-password-1");
    const action = await captureActionPost(page, () => form.getByRole("button", { name: "Create user" }).click());
    const [admin] = await sql<{ id: string }[]>`select id from users where email = ${e2eRun.adminEmail}`;
    const path = new URL(action.url).pathname;

    const attempts: { what: string; origin: string | undefined; reason: string; formOnly?: boolean }[] = [
      {
        what: "another site",
        origin: "https://evil.example",
        reason: "cookie-authenticated write from another origin (https://evil.example)",
      },
      { what: "Origin: null", origin: "null", reason: "cookie-authenticated write from Origin: null" },
      { what: "no Origin", origin: undefined, reason: "cookie-authenticated write without an Origin header" },
      // A plain HTML form on the other site posts without JavaScript: no Next-Action header, the action's id in
      // the multipart body, which Next.js would still run as a server action.
      {
        what: "a form post from another site",
        origin: "https://evil.example",
        reason: "cookie-authenticated write from another origin (https://evil.example)",
        formOnly: true,
      },
    ];
    for (const { what, origin, reason, formOnly } of attempts) {
      const [before] = await sql<{ last: string }[]>`select coalesce(max(id), 0)::text as last from audit_log`;
      const headers = { ...action.headers };
      if (origin === undefined) delete headers.origin;
      else headers.origin = origin;
      if (formOnly) {
        delete headers["next-action"];
        headers["content-type"] = "multipart/form-data; boundary=x";
      }
      const response = await page.request.post(action.url, { headers, data: action.body });
      expect(response.status(), what).toBe(403);
      expect(response.headers()["content-security-policy"], what).toContain("frame-ancestors 'none'");
      expect(await sql`select id from users where email = ${email}`, what).toHaveLength(0);

      const rows = await sql`
        select action, outcome, reason, actor_user_id, actor_label, target_type, target_id, client_ip, user_agent, details
        from audit_log where id > ${before?.last ?? "0"} and outcome = 'denied' order by id`;
      expect(rows, what).toHaveLength(1);
      const [row] = rows;
      expect(row, what).toMatchObject({
        action: "server_action.cross_site",
        outcome: "denied",
        reason,
        actor_user_id: admin?.id,
        actor_label: e2eRun.adminEmail,
        target_type: "page",
        target_id: path,
      });
      expect(row?.client_ip, what).toBeTruthy();
      expect(row?.user_agent, what).toBeTruthy();
      expect(row?.details, what).toMatchObject({ via: "dashboard", method: "POST" });
    }

    // With nobody signed in (no cookies), the refusal is counted among the anonymous ones instead: a flood of them
    // adds one audit row per client and minute.
    const key = `server_action.cross_site: ${attempts[0]!.reason}`;
    const anonymousCount = async () => {
      const [row] = await sql<{ n: number }[]>`
        select (coalesce((select sum((actions ->> ${key})::int) from anonymous_denials), 0)
              + coalesce((select sum((details -> 'refused' ->> ${key})::int) from audit_log
                          where action = 'anonymous.denied'), 0))::int as n`;
      return row?.n ?? 0;
    };
    const before = await anonymousCount();
    const anonymous = await playwright.request.newContext({ baseURL: new URL(action.url).origin });
    try {
      const response = await anonymous.post(action.url, {
        headers: { ...action.headers, origin: "https://evil.example" },
        data: action.body,
      });
      expect(response.status(), "anonymous").toBe(403);
    } finally {
      await anonymous.dispose();
    }
    expect(await anonymousCount()).toBe(before + 1);

    // The same request from our own origin is accepted: the refusals above were about where it came from.
    await page.request.post(action.url, { headers: action.headers, data: action.body });
    await expect.poll(async () => (await sql`select id from users where email = ${email}`).length).toBe(1);
  } finally {
    await sql.end();
  }
});
