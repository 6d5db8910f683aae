// List pages take their state from the URL, which is the visitor's to write: control characters in a search,
// page numbers and cursors beyond any database type give the page (clamped, cleaned), never the error page.
import { expect, test } from "@playwright/test";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

const hostile: [string, string][] = [
  ["/audit?q=%00", "Audit log"],
  ["/audit?q=a%00b%07", "Audit log"],
  ["/audit?before=1e20", "Audit log"],
  ["/audit?before=100000000000000000000", "Audit log"],
  ["/audit?before=-5&outcome=%00", "Audit log"],
  ["/sessions?page=1e23", "Failback sessions"],
  ["/sessions?page=100000000000000000000", "Failback sessions"],
  ["/sessions?view=all&page=-1&state=%00", "Failback sessions"],
  ["/replicas?q=%00", "Replicas"],
  ["/replicas?page=99999999999999&size=1e9&sort=%00", "Replicas"],
];

test("hostile list URLs give the page, not the error page", async ({ page }) => {
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  for (const [url, heading] of hostile) {
    const response = await page.goto(url);
    expect(response?.status(), url).toBe(200);
    await expect(page.getByRole("heading", { name: heading, exact: true }), url).toBeVisible();
  }
});
