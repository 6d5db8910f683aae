// (e) Reloading the session page while a failback runs resumes the stream where the page left off: every event
// id of the session is shown, none missing, before and after.
import { expect, test } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import {
  chooseReplicas,
  confirmCommand,
  eventIdsInDatabase,
  eventIdsShown,
  expectItemState,
  lastEventIdOnPage,
  reviewAndStart,
} from "./support/failback";
import { holdStepWrites } from "./support/hold-workers";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("a reload mid-run resumes the stream without gaps", async ({ page }) => {
  test.setTimeout(180_000);
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    await chooseReplicas(page, ["e2e-06"]);
    await page.getByRole("radio", { name: "Manually" }).check();

    // Phase 1 arrives live.
    const firstHold = await holdStepWrites();
    let sessionId = "";
    try {
      sessionId = await reviewAndStart(page);
      await expect(page.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
    } finally {
      await firstHold.release();
    }
    await expectItemState(page, "e2e-06", "ready_to_switch", 60_000);

    // Switch now while the workers are held: the run is mid-way (switch requested, phase 2 not begun) at the reload.
    const secondHold = await holdStepWrites();
    let before: number[] = [];
    try {
      await confirmCommand(page, "Switch now", "Yes, switch now");
      await expect(page.locator("[data-testid=event][data-type='switch.requested']")).toHaveCount(1);
      before = await eventIdsShown(page);
      expect(before).toEqual(await eventIdsInDatabase(sql, sessionId));
      await page.reload();
      await expect(page.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
      const reloadedAt = Number(await page.getByTestId("session-live").getAttribute("data-rendered-event-id"));
      expect(reloadedAt).toBe(before.at(-1));
      expect(await eventIdsShown(page)).toEqual(before);
    } finally {
      await secondHold.release();
    }

    // Phase 2 arrives over the resumed stream; afterwards the page shows exactly the session's events.
    await expectItemState(page, "e2e-06", "switched", 60_000);
    await expect
      .poll(async () => (await lastEventIdOnPage(page)) === (await eventIdsInDatabase(sql, sessionId)).at(-1), {
        timeout: 10_000,
      })
      .toBe(true);
    const after = await eventIdsShown(page);
    const stored = await eventIdsInDatabase(sql, sessionId);
    expect(after).toEqual(stored);
    expect(after.filter((id) => id > (before.at(-1) ?? 0)).length).toBeGreaterThan(10);
  } finally {
    await sql.end();
  }
});
