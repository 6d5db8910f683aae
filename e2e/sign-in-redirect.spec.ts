// After signing in at /sign-in?next=…, the browser goes to `next` only if it is a path of this site: a link
// whose `next` a browser would read as another host ("/\evil.example", "/<tab>/evil.example") ends here.
import { expect, test } from "@playwright/test";
import { e2eRun } from "./support/run";

const hostile = ["/%5Cevil.example", "/%09/evil.example", "//evil.example", "https://evil.example"];

for (const next of hostile) {
  test(`signing in with next=${next} stays on this site`, async ({ page, baseURL }) => {
    // Should the browser leave, it must not reach the network: answer for the other host here.
    await page.route(
      (url) => url.hostname === "evil.example",
      (route) => route.fulfill({ status: 200, body: "left the site" }),
    );
    await page.goto(`/sign-in?next=${next}`);
    await page.getByLabel("Email").fill(e2eRun.adminEmail);
    await page.getByLabel("Password").fill(e2eRun.adminPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => url.pathname !== "/sign-in");
    expect(new URL(page.url()).origin).toBe(new URL(baseURL ?? "").origin);
    await expect(page.getByTestId("signed-in-as")).toHaveText(e2eRun.adminEmail);
  });
}

test("a path of this site in next is where signing in leads", async ({ page }) => {
  await page.goto(`/sign-in?next=${encodeURIComponent("/users")}`);
  await page.getByLabel("Email").fill(e2eRun.adminEmail);
  await page.getByLabel("Password").fill(e2eRun.adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText(e2eRun.adminEmail);
});
