// (b) A manual switch: phase 1 runs and waits; "Switch now" switches and verifies; Undo brings the replica back
// to failover with production off.
import { expect, test } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import { chooseReplicas, confirmCommand, expectItemState, item, reviewAndStart, screenshots } from "./support/failback";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("manual switch with Switch now, then Undo", async ({ page }) => {
  test.setTimeout(180_000);
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    await chooseReplicas(page, ["e2e-03"]);
    await page.getByRole("radio", { name: "Manually" }).check();
    await page.getByRole("button", { name: "Review" }).click();
    const review = page.getByTestId("review");
    await expect(review).toHaveAttribute("data-ok", "true");
    // The exact steps that will run, from the engine's plans.
    // The review's pre-flight asked the worker (the web tier drives no hypervisor); phase 1 checks again first.
    const steps = review.getByTestId("review-step");
    await expect(steps.first()).toHaveText("Check the hosts again (pre-flight on fresh facts)");
    await expect(steps.nth(1)).toHaveText("Power off the production VM if it runs");
    await expect(review.locator("[data-kind=verify_production]")).toBeVisible();
    await screenshots(page, "wizard-review");
    const sessionId = await reviewAndStart(page);

    // Phase 1 runs and then waits for an operator: nothing switches by itself.
    await expectItemState(page, "e2e-03", "ready_to_switch", 90_000);
    await expect(page.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
    await page.waitForTimeout(2000);
    await expectItemState(page, "e2e-03", "ready_to_switch");
    await screenshots(page, "session-ready-to-switch");

    await confirmCommand(page, "Switch now", "Yes, switch now");
    await expectItemState(page, "e2e-03", "switched", 90_000);
    await expect(item(page, "e2e-03").getByTestId("verification")).toHaveAttribute("data-ok", "true");
    await expect(item(page, "e2e-03").locator("[data-testid=step][data-kind=verify_production]")).toHaveAttribute(
      "data-state",
      "done",
    );
    await screenshots(page, "session-switched");

    await confirmCommand(page, "Undo", "Yes, undo");
    await expectItemState(page, "e2e-03", "undone", 90_000);
    await expect(page.getByTestId("session-state")).toHaveAttribute("data-state", "undone");
    // No buttons are left for a finished session.
    await expect(page.getByTestId("session-controls")).toHaveCount(0);

    const [replica] =
      await sql`select r.state from replicas r join vms v on v.id = r.source_vm_id where v.name = 'e2e-03'`;
    expect(replica?.state).toBe("failover");
    const audit = await sql`select action from audit_log where target_id = ${sessionId} and outcome = 'ok' order by id`;
    const actions = audit.map((a) => a.action);
    // One row per command, under the catalogue's audit action, from the dashboard.
    expect(actions.filter((a) => a.startsWith("failback."))).toEqual([
      "failback.start",
      "failback.switch_now",
      "failback.undo",
    ]);
    const vias =
      await sql`select details->>'via' as via from audit_log where target_id = ${sessionId} and outcome = 'ok'`;
    expect(vias.every((v) => v.via === "dashboard")).toBe(true);
  } finally {
    await sql.end();
  }
});
