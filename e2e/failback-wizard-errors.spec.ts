// (d) The wizard sends what it is given; the server's validation and pre-flight answer field by field, next to
// the fields, and nothing starts.
import { expect, test } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import { chooseReplicas, localInZone, screenshots, sessionIdsOfReplica } from "./support/failback";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("invalid wizard input shows the server's field errors", async ({ page }) => {
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    const sessionsBefore = await sessionIdsOfReplica(sql, "e2e-05");
    await chooseReplicas(page, ["e2e-05"]);

    // A new location without host or name, and a negative shutdown timeout.
    await page.getByRole("radio", { name: "A new VM at another location" }).check();
    await page.getByLabel("New VM name").fill("");
    await page.getByLabel("Guest shutdown timeout (minutes)").fill("-1");
    await page.getByRole("button", { name: "Review" }).click();
    await expect(page.locator("#item-0-name-error")).toContainText("Name the new VM.");
    await expect(page.getByLabel("New VM name")).toHaveAttribute("aria-invalid", "true");
    await expect(page.locator("#item-0-host-error")).toBeVisible();
    await expect(page.locator("#shutdownMinutes-error")).toBeVisible();
    await expect(page.getByTestId("wizard-errors")).toBeVisible();
    await expect(page.getByTestId("review")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Start failback" })).toHaveCount(0);
    await screenshots(page, "wizard-errors");

    // Back to the original VM; a switch time in the past.
    await page.getByRole("radio", { name: /^Original VM/ }).check();
    await page.getByLabel("Guest shutdown timeout (minutes)").fill("15");
    await page.getByRole("radio", { name: "At a scheduled time" }).check();
    await page.getByLabel("Time zone").selectOption("Europe/Berlin");
    await page
      .getByLabel("Switch at", { exact: true })
      .fill(localInZone(new Date(Date.now() - 3600_000), "Europe/Berlin"));
    await page.getByRole("button", { name: "Review" }).click();
    await expect(page.locator("#switchAt-local-error")).toContainText("is in the past");
    await expect(page.locator("#item-0-name-error")).toHaveCount(0);

    // A zone the server does not know (a tampered form): refused by name.
    await page
      .getByLabel("Switch at", { exact: true })
      .fill(localInZone(new Date(Date.now() + 3600_000), "Europe/Berlin"));
    await page.getByLabel("Time zone").evaluate((select: HTMLSelectElement) => {
      select.add(new Option("Mars/Olympus_Mons", "Mars/Olympus_Mons"));
    });
    await page.getByLabel("Time zone").selectOption("Mars/Olympus_Mons");
    await page.getByRole("button", { name: "Review" }).click();
    await expect(page.locator("#switchAt-timeZone-error")).toContainText("Mars/Olympus_Mons is not a known time zone");

    // Fixed, it passes review; nothing was started along the way.
    await page.getByLabel("Time zone").selectOption("Europe/Berlin");
    await page.getByRole("button", { name: "Review" }).click();
    await expect(page.getByTestId("review")).toHaveAttribute("data-ok", "true");
    await expect(page.getByTestId("wizard-errors")).toHaveCount(0);
    expect(await sessionIdsOfReplica(sql, "e2e-05")).toEqual(sessionsBefore);
  } finally {
    await sql.end();
  }
});
