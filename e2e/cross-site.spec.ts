// S3: a server action is a cookie-authenticated POST, so a page on another site could make a signed-in
// browser send one. The admin's own create-user request, replayed with their cookies but from another origin,
// with `Origin: null` or with no Origin, is refused and audited; the same bytes from our own origin work.
import { expect, test } from "@playwright/test";
import { captureActionPost } from "./support/capture-action";
import { e2eDatabase } from "./support/db";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("server actions refuse cross-site, Origin: null and Origin-less requests", async ({ page }) => {
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

    const attempts: Record<string, string | undefined> = {
      "another site": "https://evil.example",
      "Origin: null": "null",
      "no Origin": undefined,
    };
    for (const [what, origin] of Object.entries(attempts)) {
      const headers = { ...action.headers };
      if (origin === undefined) delete headers.origin;
      else headers.origin = origin;
      // Next.js itself rejects an Origin that names another host before the action runs; the action's own
      // check catches what Next lets through (no Origin at all, `Origin: null`) and audits it.
      await page.request.post(action.url, { headers, data: action.body });
      expect(await sql`select id from users where email = ${email}`, what).toHaveLength(0);
    }
    const denials =
      await sql`select reason from audit_log where action = 'user.create' and outcome = 'denied' and reason like 'cookie-authenticated write%'`;
    expect(denials.map((d) => d.reason as string)).toContain("cookie-authenticated write without an Origin header");

    // The same request from our own origin is accepted: the refusals above were about where it came from.
    await page.request.post(action.url, { headers: action.headers, data: action.body });
    await expect.poll(async () => (await sql`select id from users where email = ${email}`).length).toBe(1);
  } finally {
    await sql.end();
  }
});
