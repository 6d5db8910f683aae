import { expect, test, type Page, type Request } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

const viewer = { email: `viewer-${e2eRun.id}@failback.local`.toLowerCase(), password: "viewer-password-1" };

/** Submits the create-user form but stops the request in the browser, keeping it to replay by hand. */
async function captureCreateUserPost(
  page: Page,
  email: string,
): Promise<{ headers: Record<string, string>; body: Buffer }> {
  let captured: Request | undefined;
  await page.route("**/users", async (route) => {
    if (route.request().method() === "POST" && route.request().headers()["next-action"]) {
      captured = route.request();
      await route.abort();
    } else {
      await route.continue();
    }
  });
  const form = page.getByRole("form", { name: "Create user" });
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Name").fill("Replayed");
  await form.getByLabel("Role").selectOption("admin");
  await form.getByLabel("Initial password").fill("replayed-password-1");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect.poll(() => captured !== undefined).toBe(true);
  await page.unroute("**/users");
  const request = captured as Request;
  const h = request.headers();
  return {
    headers: {
      "next-action": h["next-action"] ?? "",
      "content-type": h["content-type"] ?? "",
      accept: "text/x-component",
      origin: new URL(request.url()).origin,
    },
    body: request.postDataBuffer() ?? Buffer.alloc(0),
  };
}

test("an admin creates a viewer; the viewer signs in, cannot manage users, and a direct POST changes nothing", async ({
  browser,
}) => {
  const sql = e2eDatabase();
  try {
    const adminContext = await browser.newContext();
    const admin = await adminContext.newPage();
    await signIn(admin, e2eRun.adminEmail, e2eRun.adminPassword);
    await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();

    const form = admin.getByRole("form", { name: "Create user" });
    await form.getByLabel("Email").fill(viewer.email);
    await form.getByLabel("Name").fill("Vera Viewer");
    await form.getByLabel("Role").selectOption("viewer");
    await form.getByLabel("Initial password").fill(viewer.password);
    await form.getByRole("button", { name: "Create user" }).click();
    await expect(admin.getByRole("status")).toHaveText(`Created ${viewer.email}.`);
    await expect(admin.locator(`[data-testid=user-row][data-email="${viewer.email}"]`)).toBeVisible();
    await admin.screenshot({ path: "test-results/screens/users.png", fullPage: true });

    // Field errors come back next to their fields.
    await form.getByLabel("Email").fill("not-an-email@");
    await form.getByLabel("Name").fill("x");
    await form.getByLabel("Initial password").fill("short-pass-1");
    await form.getByLabel("Email").evaluate((el) => el.removeAttribute("type"));
    await form.getByRole("button", { name: "Create user" }).click();
    await expect(admin.locator("#email-error")).toHaveText("Enter a valid email address.");

    const replayEmail = `replayed-${e2eRun.id}@failback.local`.toLowerCase();
    const post = await captureCreateUserPost(admin, replayEmail);

    const viewerContext = await browser.newContext();
    const viewerPage = await viewerContext.newPage();
    await signIn(viewerPage, viewer.email, viewer.password);
    await expect(viewerPage.getByRole("link", { name: "Users" })).toHaveCount(0);
    await viewerPage.goto("/users");
    await expect(viewerPage.getByRole("heading", { name: "Not permitted" })).toBeVisible();

    // The viewer replays the admin's server-action POST with their own cookies.
    const usersBefore = (await sql`select count(*)::int as n from users`)[0]?.n;
    const deniedBefore = (
      await sql`select count(*)::int as n from audit_log where action = 'user.create' and outcome = 'denied'`
    )[0]?.n;
    const response = await viewerPage.request.post("/users", { headers: post.headers, data: post.body });
    expect(response.status()).toBeLessThan(500);
    const usersAfter = (await sql`select count(*)::int as n from users`)[0]?.n;
    expect(usersAfter).toBe(usersBefore);
    const denials =
      await sql`select actor_label, reason from audit_log where action = 'user.create' and outcome = 'denied' order by id desc`;
    expect(denials.length).toBe((deniedBefore ?? 0) + 1);
    expect(denials[0]?.actor_label).toBe(viewer.email);

    // The same bytes from the admin do create the user: the replay itself is sound, the role made the difference.
    const control = await admin.request.post("/users", { headers: post.headers, data: post.body });
    expect(control.status()).toBe(200);
    expect((await sql`select count(*)::int as n from users where email = ${replayEmail}`)[0]?.n).toBe(1);

    // Disabling the viewer takes effect on their next request.
    await admin.goto("/users");
    await admin
      .locator(`[data-testid=user-row][data-email="${viewer.email}"]`)
      .getByRole("button", { name: "Disable" })
      .click();
    await expect(
      admin.locator(`[data-testid=user-row][data-email="${viewer.email}"]`).getByText("disabled"),
    ).toBeVisible();
    await viewerPage.goto("/replicas");
    await expect(viewerPage).toHaveURL(/\/sign-in/);

    await adminContext.close();
    await viewerContext.close();
  } finally {
    await sql.end();
  }
});
