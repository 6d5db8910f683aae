// A whole failback driven through the command line against the running product: a token made on the profile
// page, then login → replicas → start (manual switch) → follow to ready_to_switch → switch-now → follow to
// switched → commit → committed; finally the token is revoked in the UI and the command line is refused.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { e2eDatabase } from "./support/db";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

const server = `http://127.0.0.1:${e2eRun.port}`;
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-cli-e2e-"));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function failback(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/failback.ts", ...args],
      {
        env: { ...process.env, FAILBACK_CONFIG_DIR: configDir, FAILBACK_SERVER: "", FAILBACK_TOKEN: "" },
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

function expectDone(run: CliRun, what: string) {
  expect(run.code, `${what}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(0);
}

/** The last JSON line of a --follow --json run: {"session": detail}. */
const finalState = (run: CliRun) =>
  (JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as { session?: { session: { state: string } } }).session
    ?.session.state;

test.afterAll(() => fs.rmSync(configDir, { recursive: true, force: true }));

test("a failback from the command line: start, follow, switch now, commit", async ({ page }) => {
  test.setTimeout(360_000);
  const sql = e2eDatabase();
  try {
    await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
    await page.goto("/profile");
    const form = page.getByRole("form", { name: "Create API token" });
    await form.getByLabel("Token name").fill("cli e2e");
    await form.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("new-token").textContent())?.trim() ?? "";
    expect(token).toMatch(/^fbk_[A-Za-z0-9_-]{43}$/);
    await expect(page.locator('[data-testid=token-row][data-name="cli e2e"]')).toBeVisible();
    await page.screenshot({ path: "test-results/screens/profile-token.png", fullPage: true });

    const login = await failback("login", "--server", server, "--token", token);
    expectDone(login, "login");
    expect(login.stdout).toContain(`as ${e2eRun.adminEmail} (admin)`);
    expect(fs.statSync(path.join(configDir, "credentials.json")).mode & 0o777).toBe(0o600);

    const replicas = await failback("replicas", "--json");
    expectDone(replicas, "replicas");
    const replica = (JSON.parse(replicas.stdout) as { id: string; sourceVmName: string; state: string }[]).find(
      (r) => r.sourceVmName === "e2e-07",
    );
    expect(replica?.state).toBe("failover");

    const start = await failback(
      "start",
      "--replica",
      replica?.id ?? "",
      "--target",
      "original",
      "--switch",
      "manual",
      "--reason",
      "cli e2e",
      "--json",
    );
    expectDone(start, "start");
    const sessionId = (JSON.parse(start.stdout) as { sessionId: string }).sessionId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const ready = await failback(
      "status",
      sessionId,
      "--follow",
      "--json",
      "--until",
      "ready_to_switch",
      "--timeout",
      "200",
    );
    expectDone(ready, "follow to ready_to_switch");
    expect(finalState(ready)).toBe("ready_to_switch");
    // Events came through the stream as JSON lines, phase 1's among them.
    expect(ready.stdout).toContain('"type":"item.state"');

    expectDone(await failback("switch-now", sessionId), "switch-now");
    const switched = await failback(
      "status",
      sessionId,
      "--follow",
      "--json",
      "--until",
      "switched",
      "--timeout",
      "200",
    );
    expectDone(switched, "follow to switched");
    expect(finalState(switched)).toBe("switched");

    const commit = await failback("commit", sessionId);
    expectDone(commit, "commit");
    expectDone(
      await failback("status", sessionId, "--follow", "--until", "committed", "--timeout", "120"),
      "follow to committed",
    );
    const final = await failback("status", sessionId, "--json");
    expectDone(final, "status");
    expect((JSON.parse(final.stdout) as { session: { state: string } }).session.state).toBe("committed");

    // The engine audited each command under the token's user.
    const audits =
      await sql`select action from audit_log where target_id = ${sessionId} and outcome = 'ok' and actor_label = ${e2eRun.adminEmail} order by id`;
    expect(audits.map((a) => a.action)).toEqual(["failback.start", "failback.switch_now", "failback.commit"]);

    // The dashboard's cookie works on the API too, but a write must come from our own origin (S3).
    const me = await page.request.get("/api/v1/me");
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ email: e2eRun.adminEmail, via: "cookie" });
    const commitAgain = (headers: Record<string, string>) =>
      page.request.post(`/api/v1/sessions/${sessionId}/commit`, { headers, data: {} });
    expect((await commitAgain({ origin: server })).status()).toBe(409); // past the checks: the engine refuses a second commit
    const deniedBefore = (
      await sql`select count(*)::int as n from audit_log where action = 'failback.commit' and outcome = 'denied'`
    )[0]?.n;
    for (const origin of ["https://evil.example", "null"]) expect((await commitAgain({ origin })).status()).toBe(403);
    expect((await commitAgain({})).status()).toBe(403);
    const deniedAfter = (
      await sql`select count(*)::int as n from audit_log where action = 'failback.commit' and outcome = 'denied'`
    )[0]?.n;
    expect(deniedAfter).toBe((deniedBefore ?? 0) + 3);

    // Revoked in the UI: the command line is refused on its next request (exit 3).
    await page.reload();
    await page.getByRole("button", { name: "Revoke cli e2e" }).click();
    await expect(page.locator('[data-testid=token-row][data-name="cli e2e"]').getByText("revoked")).toBeVisible();
    const refused = await failback("replicas", "--json");
    expect(refused.code).toBe(3);
    expect((JSON.parse(refused.stderr) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
  } finally {
    await sql.end();
  }
});
