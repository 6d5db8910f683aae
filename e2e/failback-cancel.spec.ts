// Cancel during phase 1: phase 1 stops at a safe point, the cancel plan runs, and the replica stays in failover.
import { expect, test } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import { chooseReplicas, expectItemState, item, pressCommand, reviewAndStart, screenshots } from "./support/failback";
import { holdStepWrites } from "./support/hold-workers";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

test("cancel during phase 1 leaves the replica in failover", async ({ page }) => {
  test.setTimeout(120_000);
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    await chooseReplicas(page, ["e2e-05"]);
    await page.getByRole("radio", { name: "Manually" }).check();
    // The workers are held at phase 1's start, so the cancel certainly lands while phase 1 is under way.
    const hold = await holdStepWrites();
    let sessionId = "";
    try {
      sessionId = await reviewAndStart(page);
      await expectItemState(page, "e2e-05", "pending");
      await pressCommand(page, "Cancel", "Yes, cancel");
    } finally {
      await hold.release();
    }
    await expect(page.getByRole("dialog")).toBeHidden();
    await expectItemState(page, "e2e-05", "cancelled", 60_000);
    await expect(page.getByTestId("session-state")).toHaveAttribute("data-state", "cancelled");
    const cancel = item(page, "e2e-05").locator("[data-testid=timeline][data-phase-title=Cancel]");
    await expect(cancel.getByTestId("step")).toHaveCount(4);
    await expect(cancel.locator("[data-testid=step][data-state=done]")).toHaveCount(4);
    await expect(
      item(page, "e2e-05").locator("[data-testid=step][data-kind=mark_replica_state][data-state=done]"),
    ).toHaveCount(1);
    await screenshots(page, "session-cancelled");

    const [replica] =
      await sql`select r.state from replicas r join vms v on v.id = r.source_vm_id where v.name = 'e2e-05'`;
    expect(replica?.state).toBe("failover");
    expect(
      await sql`select 1 from audit_log where target_id = ${sessionId} and action = 'failback.cancel' and outcome = 'ok'`,
    ).toHaveLength(1);
    expect(await sql`select 1 from events where session_id = ${sessionId} and type = 'cancel.requested'`).toHaveLength(
      1,
    );
  } finally {
    await sql.end();
  }
});
