import { expect, test } from "@playwright/test";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("the first admin signs in and sees the app shell", async ({ page }) => {
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Replicas" }).click();
  await expect(page.getByRole("heading", { name: "Replicas", exact: true })).toBeVisible();
  // The e2e server's lab: its replicas are listed (the empty state is for an estate without any).
  await expect(page.getByText("e2e-01", { exact: true }).first()).toBeVisible();
  await page.screenshot({ path: "test-results/screens/replicas.png", fullPage: true });
});

test("a wrong password and an unknown user get the same answer", async ({ page }) => {
  const attempt = async (email: string, password: string) => {
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    // Scoped to the form: Next.js has a route announcer with the alert role too.
    const alert = page.locator("form").getByRole("alert");
    await expect(alert).toBeVisible();
    return alert.textContent();
  };
  const wrongPassword = await attempt(e2eRun.adminEmail, "not-the-password");
  const unknownUser = await attempt("nobody@failback.local", "not-the-password");
  expect(wrongPassword).toBe("Email or password is incorrect.");
  expect(unknownUser).toBe(wrongPassword);
  await expect(page).toHaveURL(/\/sign-in/);
});

test("signed-out visitors are sent to sign-in", async ({ page }) => {
  await page.goto("/users");
  await expect(page).toHaveURL(/\/sign-in/);
});
