// (c) A viewer follows a running failback live in a second browser, sees no button they may not use, and the
// server refuses when they send an admin's own action POST (start, cancel schedule, switch, commit, undo) with
// their cookies.
import { expect, test } from "@playwright/test";
import { captureActionPost, replay } from "./support/capture-action";
import { e2eDatabase } from "./support/db";
import {
  chooseReplicas,
  expectItemState,
  instantAhead,
  item,
  localInZone,
  pressCommand,
  reviewAndStart,
  screenshots,
  sessionIdsOfReplica,
} from "./support/failback";
import { holdStepWrites } from "./support/hold-workers";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";
import { createUser } from "./support/users";

const viewer = {
  email: `watcher-${e2eRun.id}@failback.local`.toLowerCase(),
  password: "watcher-password-1",
  role: "viewer" as const,
};

test("a viewer watches live and can change nothing", async ({ browser }) => {
  test.setTimeout(180_000);
  const sql = e2eDatabase();
  const adminContext = await browser.newContext();
  const viewerContext = await browser.newContext();
  try {
    await createUser(sql, viewer);
    const admin = await adminContext.newPage();
    const watcher = await viewerContext.newPage();
    await signIn(admin, e2eRun.adminEmail, e2eRun.adminPassword);
    await signIn(watcher, viewer.email, viewer.password);

    // The viewer sees the replicas but cannot choose any or start a failback.
    await watcher.goto("/replicas");
    await expect(watcher.getByTestId("replica-row").first()).toBeVisible();
    await expect(watcher.getByRole("checkbox")).toHaveCount(0);
    await expect(watcher.getByRole("button", { name: /Start failback/ })).toHaveCount(0);
    await screenshots(watcher, "replicas-viewer");

    // An admin's start request for e2e-05, captured on its way, replayed by the viewer: refused.
    await chooseReplicas(admin, ["e2e-05"]);
    await admin.getByRole("button", { name: "Review" }).click();
    await expect(admin.getByTestId("review")).toHaveAttribute("data-ok", "true");
    const start = await captureActionPost(admin, () => admin.getByRole("button", { name: "Start failback" }).click());
    await watcher.goto(new URL(start.url).pathname + new URL(start.url).search);
    await expect(watcher.getByRole("heading", { name: "Not permitted" })).toBeVisible();
    const sessionsBefore = await sessionIdsOfReplica(sql, "e2e-05");
    expect((await replay(watcher.request, start)).status()).toBeLessThan(500);
    expect(await sessionIdsOfReplica(sql, "e2e-05")).toEqual(sessionsBefore);

    // The admin starts a failback of e2e-04 scheduled an hour ahead; the viewer opens it before phase 1 runs and
    // watches it live.
    await chooseReplicas(admin, ["e2e-04"]);
    await admin.getByRole("radio", { name: "At a scheduled time" }).check();
    await admin.getByLabel("Time zone").selectOption("Asia/Tokyo");
    await admin.getByLabel("Switch at", { exact: true }).fill(localInZone(instantAhead(3600_000), "Asia/Tokyo"));
    const hold = await holdStepWrites();
    let sessionId = "";
    try {
      sessionId = await reviewAndStart(admin);
      await watcher.goto(`/sessions/${sessionId}`);
      await expect(watcher.getByTestId("stream-status")).toHaveAttribute("data-state", "live");
    } finally {
      await hold.release();
    }
    const rendered = Number(await watcher.getByTestId("session-live").getAttribute("data-rendered-event-id"));
    await expectItemState(watcher, "e2e-04", "ready_to_switch", 60_000);
    expect(Number(await watcher.getByTestId("session-live").getAttribute("data-last-event-id"))).toBeGreaterThan(
      rendered,
    );
    for (const name of ["Switch now", "Commit", "Undo", "Cancel", "Cancel schedule", "Retry the stopped step"])
      await expect(watcher.getByRole("button", { name, exact: true })).toHaveCount(0);
    await expect(watcher.getByText("Change switch time")).toHaveCount(0);
    await expect(watcher.getByTestId("schedule")).toHaveAttribute("data-state", "pending");
    await screenshots(watcher, "session-viewer");
    await watcher.goto("/schedules");
    await expect(watcher.locator(`[data-testid=schedule-row][data-session="${sessionId}"]`)).toBeVisible();
    await expect(watcher.getByRole("button", { name: "Cancel schedule" })).toHaveCount(0);
    await expect(watcher.getByText("Change switch time")).toHaveCount(0);
    await watcher.goto(`/sessions/${sessionId}`);

    // Cancel schedule: refused for the viewer, done by the admin's same request; the viewer sees it live.
    await admin.reload();
    const cancelSchedule = await captureActionPost(admin, () =>
      pressCommand(admin, "Cancel schedule", "Yes, cancel the schedule"),
    );
    expect((await replay(watcher.request, cancelSchedule)).status()).toBeLessThan(500);
    expect(
      await sql`select 1 from switch_schedules where session_id = ${sessionId} and state = 'pending'`,
    ).toHaveLength(1);
    expect((await replay(admin.request, cancelSchedule)).status()).toBe(200);
    await expect(watcher.getByTestId("schedule")).toHaveAttribute("data-state", "cancelled");

    // Switch now: the admin's POST replayed by the viewer changes nothing; the same bytes from the admin do.
    await admin.reload();
    const switchNow = await captureActionPost(admin, () => pressCommand(admin, "Switch now", "Yes, switch now"));
    const deniedBefore = (
      await sql`select count(*)::int as n from audit_log where outcome = 'denied' and actor_label = ${viewer.email}`
    )[0]?.n as number;
    expect((await replay(watcher.request, switchNow)).status()).toBeLessThan(500);
    await watcher.waitForTimeout(1500);
    await expectItemState(watcher, "e2e-04", "ready_to_switch");
    expect(await sql`select 1 from events where session_id = ${sessionId} and type = 'switch.requested'`).toHaveLength(
      0,
    );
    expect(await sql`select 1 from failback_items where session_id = ${sessionId} and switch_requested`).toHaveLength(
      0,
    );
    const switchControl = await replay(admin.request, switchNow);
    expect(switchControl.status()).toBe(200);
    await expectItemState(watcher, "e2e-04", "switched", 60_000);
    await expect(item(watcher, "e2e-04").getByTestId("verification")).toHaveAttribute("data-ok", "true");
    for (const name of ["Commit", "Undo"])
      await expect(watcher.getByRole("button", { name, exact: true })).toHaveCount(0);

    // Commit and undo: captured from the admin, refused for the viewer; the item stays switched.
    await admin.reload();
    const commit = await captureActionPost(admin, () => pressCommand(admin, "Commit", "Yes, commit"));
    await admin.reload();
    const undo = await captureActionPost(admin, () => pressCommand(admin, "Undo", "Yes, undo"));
    for (const action of [commit, undo]) expect((await replay(watcher.request, action)).status()).toBeLessThan(500);
    await watcher.waitForTimeout(1500);
    await expectItemState(watcher, "e2e-04", "switched");
    expect(
      await sql`select 1 from events where session_id = ${sessionId} and type in ('commit.requested', 'undo.requested')`,
    ).toHaveLength(0);

    // Every refusal was audited under the viewer's name, and none of them left a success row.
    const denials =
      await sql`select action from audit_log where outcome = 'denied' and actor_label = ${viewer.email} order by id`;
    expect(denials.length).toBe(deniedBefore + 3);
    expect(denials.slice(-3).map((d) => d.action)).toEqual(["failback.switch_now", "failback.commit", "failback.undo"]);
    expect(denials.map((d) => d.action)).toContain("failback.schedule.cancel");
    expect(denials.map((d) => d.action)).toContain("failback.start");
    expect(
      await sql`select 1 from audit_log where outcome = 'ok' and actor_label = ${viewer.email} and action like 'failback.%'`,
    ).toHaveLength(0);
  } finally {
    await adminContext.close();
    await viewerContext.close();
    await sql.end();
  }
});
