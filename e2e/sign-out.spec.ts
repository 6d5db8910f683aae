// Signing out ends the sign-in on the server: a copy of the signed-in cookies taken before (by another tab, a
// proxy log, malware) opens nothing afterwards, and asking Auth.js for the session does not revive it.
import { expect, test, type APIRequestContext } from "@playwright/test";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

const meStatus = async (request: APIRequestContext) => (await request.get("/api/v1/me")).status();
const homeLocation = async (request: APIRequestContext) => {
  const response = await request.get("/", { maxRedirects: 0 });
  return { status: response.status(), location: response.headers()["location"] ?? "" };
};

test("cookies copied before sign-out are refused after it", async ({ page, browser }) => {
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  const copied = await page.context().cookies();
  expect(copied.map((c) => c.name)).toContain("authjs.session-token");

  // Another browser with the copied cookies: signed in, as long as the original is.
  const thief = await browser.newContext({ storageState: { cookies: copied, origins: [] } });
  try {
    expect(await meStatus(thief.request)).toBe(200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in/);

    expect(await meStatus(thief.request)).toBe(401);
    const home = await homeLocation(thief.request);
    expect(home.status).toBeGreaterThanOrEqual(300);
    expect(home.status).toBeLessThan(400);
    expect(home.location).toMatch(/\/sign-in/);

    // Auth.js renews a session cookie it can read; the revoked sign-in must not come back that way.
    const session = await thief.request.get("/api/auth/session");
    expect(session.status()).toBe(200);
    expect(await session.json()).toBeNull();
    expect(await meStatus(thief.request)).toBe(401);
    expect((await homeLocation(thief.request)).location).toMatch(/\/sign-in/);
  } finally {
    await thief.close();
  }
});

test("signing in again after signing out works", async ({ page }) => {
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  expect((await page.request.get("/api/v1/me")).status()).toBe(200);
});
