// Steps the failback end-to-end tests share: choosing replicas, the wizard, the session page's confirmations,
// the event ids a page shows, and screenshots at desktop and phone widths.
import { expect, type Page } from "@playwright/test";
import type postgres from "postgres";

export const desktop = { width: 1280, height: 800 };
export const narrow = { width: 390, height: 844 };

/** On the replicas page: ticks the named replicas and opens the wizard with them. */
export async function chooseReplicas(page: Page, vmNames: string[]): Promise<void> {
  await page.goto("/replicas?state=failover");
  for (const name of vmNames) await page.getByRole("checkbox", { name: `Choose ${name}` }).check();
  await page.getByRole("button", { name: `Start failback (${vmNames.length})` }).click();
  await expect(page.getByRole("heading", { name: "Start a failback" })).toBeVisible();
  for (const name of vmNames) await expect(page.locator(`[data-testid=wizard-item][data-vm="${name}"]`)).toBeVisible();
}

/** Review (the server pre-flights the request and lists its steps), then start; returns the new session's id. */
export async function reviewAndStart(page: Page): Promise<string> {
  if ((await page.getByTestId("review").count()) === 0) await page.getByRole("button", { name: "Review" }).click();
  await expect(page.getByTestId("review")).toHaveAttribute("data-ok", "true");
  await page.getByRole("button", { name: "Start failback" }).click();
  await page.waitForURL(/\/sessions\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname.split("/").at(-1) as string;
}

/** Presses a session button and answers yes in its confirmation dialog. */
export async function pressCommand(page: Page, button: string, confirm: string): Promise<void> {
  await page.getByRole("button", { name: button, exact: true }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: confirm }).click();
}

/** The same, and waits for the server's answer (the dialog closes when it comes). */
export async function confirmCommand(page: Page, button: string, confirm: string): Promise<void> {
  await pressCommand(page, button, confirm);
  await expect(page.getByRole("dialog")).toBeHidden();
}

export function item(page: Page, vmName: string) {
  return page.locator(`[data-testid=item][data-vm="${vmName}"]`);
}

export async function expectItemState(page: Page, vmName: string, state: string, timeout = 60_000): Promise<void> {
  await expect(item(page, vmName)).toHaveAttribute("data-state", state, { timeout });
}

/** The ids of the events the page's log shows (with progress reports shown too). */
export async function eventIdsShown(page: Page): Promise<number[]> {
  const toggle = page.getByLabel(/Show progress reports/);
  if (!(await toggle.isChecked())) await toggle.check();
  const ids = await page
    .getByTestId("event")
    .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-event-id"))));
  return ids.sort((a, b) => a - b);
}

export async function lastEventIdOnPage(page: Page): Promise<number> {
  return Number(await page.getByTestId("session-live").getAttribute("data-last-event-id"));
}

export async function eventIdsInDatabase(sql: postgres.Sql, sessionId: string): Promise<number[]> {
  const rows = await sql<{ id: string }[]>`select id from events where session_id = ${sessionId} order by id`;
  return rows.map((r) => Number(r.id));
}

export async function sessionIdsOfReplica(sql: postgres.Sql, vmName: string): Promise<string[]> {
  const rows = await sql<{ session_id: string }[]>`
    select i.session_id from failback_items i join replicas r on r.id = i.replica_id join vms v on v.id = r.source_vm_id where v.name = ${vmName}`;
  return rows.map((r) => r.session_id);
}

/** Full-page screenshots at desktop and phone widths, into test-results/screenshots/. */
export async function screenshots(page: Page, name: string): Promise<void> {
  // Streamed pages show their loading skeleton (aria-busy) until the content is revealed.
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
  const before = page.viewportSize() ?? desktop;
  for (const [label, size] of [
    ["desktop", desktop],
    ["narrow", narrow],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `test-results/screenshots/${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize(before);
}

/** "YYYY-MM-DDTHH:mm:ss" of an instant in a zone, as a datetime-local input takes it. */
export function localInZone(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return `${part("year")}-${part("month")}-${part("day")}T${part("hour")}:${part("minute")}:${part("second")}`;
}

/**
 * An instant `ms` from now in whole seconds, never on a whole minute: the pages print seconds only when there
 * are any, and the tests compare against one form.
 */
export function instantAhead(ms: number): Date {
  const at = new Date(Math.ceil((Date.now() + ms) / 1000) * 1000);
  return at.getUTCSeconds() === 0 ? new Date(at.getTime() + 1000) : at;
}

/** "YYYY-MM-DD HH:MM:SS UTC", as the pages print an instant with seconds. */
export function utcWithSeconds(instant: Date): string {
  return `${instant.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
