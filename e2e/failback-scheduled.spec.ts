// (a) Two replicas, a switch scheduled in New York time: phase 1 arrives live on the session page, the switch
// time is moved earlier (~45 s ahead) on the schedules page, nothing switches before it, at that time both switch
// and verify, and commit brings them home for good.
import { expect, test } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import {
  chooseReplicas,
  confirmCommand,
  eventIdsShown,
  expectItemState,
  instantAhead,
  item,
  localInZone,
  reviewAndStart,
  screenshots,
  utcWithSeconds,
} from "./support/failback";
import { holdStepWrites } from "./support/hold-workers";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

const zone = "America/New_York";
const vms = ["e2e-01", "e2e-02"];

test("a scheduled switch in another time zone, watched live, then committed", async ({ page, context }) => {
  test.setTimeout(240_000);
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    await page.goto("/replicas");
    await expect(page.getByTestId("replica-row")).toHaveCount(e2eRun.labVms.length);
    await expect(page.getByTestId("replica-row").first()).toBeVisible();
    await screenshots(page, "replicas");
    await chooseReplicas(page, vms);

    // Whole seconds: the instant the test expects is exactly the one entered.
    const firstRunAt = instantAhead(10 * 60_000);
    const utcText = utcWithSeconds(firstRunAt);
    await page.getByRole("radio", { name: "At a scheduled time" }).check();
    await page.getByLabel("Time zone").selectOption(zone);
    await page.getByLabel("Switch at", { exact: true }).fill(localInZone(firstRunAt, zone));
    await expect(page.getByTestId("switch-utc-preview")).toContainText(utcText);
    await page.getByRole("button", { name: "Review" }).click();
    await expect(page.getByTestId("review-switch")).toHaveText(
      `${localInZone(firstRunAt, zone).replace("T", " ")} ${zone} = ${utcText}`,
    );
    await expect(page.getByTestId("review-item")).toHaveCount(2);
    await screenshots(page, "wizard-scheduled");

    // Hold the workers until the session page is open, so phase 1 is watched as it happens.
    const hold = await holdStepWrites();
    let sessionId: string;
    try {
      sessionId = await reviewAndStart(page);
      await expect(page.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
    } finally {
      await hold.release();
    }
    const rendered = Number(await page.getByTestId("session-live").getAttribute("data-rendered-event-id"));
    for (const vm of vms) await expectItemState(page, vm, "ready_to_switch", 60_000);
    // Phase 1's steps and its transfer progress came over the stream, after the page was rendered.
    await eventIdsShown(page);
    const idsOf = (type: string) =>
      page
        .locator(`[data-testid=event][data-type='${type}']`)
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-event-id"))));
    expect((await idsOf("step.progress")).filter((id) => id > rendered).length).toBeGreaterThan(0);
    expect((await idsOf("step.done")).filter((id) => id > rendered).length).toBeGreaterThanOrEqual(2 * 7);
    for (const vm of vms) await expect(item(page, vm).getByTestId("item-progress")).toBeVisible();

    // The schedule, as entered and in UTC.
    await expect(page.getByTestId("schedule-local")).toHaveText(
      `${localInZone(firstRunAt, zone).replace("T", " ")} ${zone}`,
    );
    await expect(page.getByTestId("schedule-utc")).toHaveText(utcText);
    await screenshots(page, "session-phase1-done");

    // On the schedules page: move the switch to ~45 s from now, still in New York time.
    const other = await context.newPage();
    await other.goto("/schedules");
    const row = other.locator(`[data-testid=schedule-row][data-session="${sessionId}"]`);
    await expect(row.getByTestId("schedule-utc")).toHaveText(utcText);
    await screenshots(other, "schedules");
    const runAt = instantAhead(45_000);
    const newUtcText = utcWithSeconds(runAt);
    await row.getByText("Change switch time").click();
    await row.getByLabel("New switch time").fill(localInZone(runAt, zone));
    await expect(row.getByTestId("switch-time-utc-preview")).toHaveText(`That is ${newUtcText}.`);
    await row.getByRole("button", { name: "Save switch time" }).click();
    await expect(row.getByRole("status")).toHaveText(`Switch time changed to ${newUtcText}.`);
    await expect(row.getByTestId("schedule-utc")).toHaveText(newUtcText);
    // The session page hears of it live.
    await expect(page.getByTestId("schedule-utc")).toHaveText(newUtcText);
    await expect(page.locator("[data-testid=event][data-type='schedule.changed']")).toHaveCount(1);
    await other.goto("/");
    await expect(other.locator(`[data-testid=running-session][data-session="${sessionId}"]`)).toBeVisible();
    await screenshots(other, "overview");
    await other.close();

    // Nothing switches early.
    expect(Date.now()).toBeLessThan(runAt.getTime() - 3000);
    for (const vm of vms) await expectItemState(page, vm, "ready_to_switch");

    for (const vm of vms) await expectItemState(page, vm, "switched", runAt.getTime() - Date.now() + 60_000);
    for (const vm of vms) {
      await expect(item(page, vm).getByTestId("verification")).toHaveAttribute("data-ok", "true");
      await expect(item(page, vm).getByTestId("verification-disk")).toHaveAttribute("data-ok", "true");
    }
    const [started] =
      await sql`select min(created_at) as at from events where session_id = ${sessionId} and type = 'schedule.started'`;
    const [switching] =
      await sql`select min(created_at) as at from events where session_id = ${sessionId} and type = 'item.state' and payload->>'to' = 'switching'`;
    expect(new Date(started?.at).getTime()).toBeGreaterThanOrEqual(runAt.getTime() - 500);
    expect(new Date(switching?.at).getTime()).toBeGreaterThanOrEqual(runAt.getTime() - 500);
    await expect(page.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
    await screenshots(page, "session-verified");

    await confirmCommand(page, "Commit", "Yes, commit");
    for (const vm of vms) await expectItemState(page, vm, "committed", 60_000);
    await expect(page.getByTestId("session-state")).toHaveAttribute("data-state", "committed");
    const replicas =
      await sql`select v.name, r.state from replicas r join vms v on v.id = r.source_vm_id where v.name in ${sql(vms)} order by v.name`;
    expect(replicas.map((r) => r.state)).toEqual(["ready", "ready"]);
    await page.goto("/sessions?view=all");
    await expect(page.locator(`[data-testid=session-row][data-session="${sessionId}"]`)).toHaveAttribute(
      "data-state",
      "committed",
    );
    await screenshots(page, "history");
  } finally {
    await sql.end();
  }
});
