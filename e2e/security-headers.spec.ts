// Every answer carries the browser-side protections: a Content-Security-Policy that forbids framing and lets
// only scripts carrying this response's nonce run (no 'unsafe-inline', no 'unsafe-eval'), nosniff and a strict
// Referrer-Policy. Each page still loads with no CSP violation and hydrates; a page on another local port
// cannot frame the dashboard (the clickjacking that made a signed-in user create an API token).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type APIResponse, type Page, type Response } from "@playwright/test";
import { e2eRun } from "./support/run";
import { signIn } from "./support/sign-in";

const strictReferrerPolicies = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"];

function directives(csp: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of csp.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), values);
  }
  return map;
}

/** Checks the protective headers of one response; returns the script nonce of its CSP (null when it has none). */
async function expectProtectiveHeaders(response: Response | APIResponse | null, what: string) {
  expect(response, what).not.toBeNull();
  // One policy only: a second one (say, the nonce-less copy in next.config.ts) would be enforced as well.
  const all = await response!.headersArray();
  expect(
    all.filter((h) => h.name.toLowerCase() === "content-security-policy"),
    `${what}: one CSP`,
  ).toHaveLength(1);
  const headers = response!.headers();
  const csp = headers["content-security-policy"] ?? "";
  expect(csp, `${what}: Content-Security-Policy`).toBeTruthy();
  const policy = directives(csp);
  expect(policy.get("frame-ancestors"), `${what}: frame-ancestors`).toEqual(["'none'"]);
  const scripts = policy.get("script-src") ?? policy.get("default-src");
  expect(scripts, `${what}: script-src`).toBeDefined();
  expect(scripts, `${what}: script-src`).not.toContain("'unsafe-inline'");
  expect(scripts, `${what}: script-src`).not.toContain("'unsafe-eval'");
  expect(policy.get("connect-src") ?? policy.get("default-src"), `${what}: connect-src`).toContain("'self'");
  expect(headers["x-content-type-options"], `${what}: X-Content-Type-Options`).toBe("nosniff");
  expect(strictReferrerPolicies, `${what}: Referrer-Policy`).toContain(headers["referrer-policy"]);
  const nonce = scripts!.map((s) => /^'nonce-(.+)'$/.exec(s)?.[1]).find(Boolean);
  return nonce ?? null;
}

/** A page's HTML answer: the CSP has a nonce, and every script in the HTML carries exactly that nonce. */
async function expectNonceOnEveryScript(response: Response | null, what: string) {
  const nonce = await expectProtectiveHeaders(response, what);
  expect(nonce, `${what}: script-src has a nonce`).toBeTruthy();
  const html = await response!.text();
  const scriptTags = html.match(/<script\b[^>]*>/g) ?? [];
  expect(scriptTags.length, `${what}: scripts in the HTML`).toBeGreaterThan(0);
  for (const tag of scriptTags) expect(tag, `${what}: script tag`).toContain(`nonce="${nonce}"`);
  return nonce!;
}

/** Everything that tells of a blocked script, style, frame or connection, or of a script that failed. */
async function watchForViolations(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on("console", (message) => {
    const text = message.text();
    if (/content security policy|csp violation/i.test(text)) problems.push(`console: ${text}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  // Runs before any of the page's own scripts, in every document (init scripts are not subject to the CSP).
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
    });
  });
  return problems;
}

/** React has hydrated the document: its DOM nodes carry React's fiber keys only after the client took over. */
async function expectHydrated(page: Page, what: string) {
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const node = document.querySelector("main") ?? document.body;
          return Object.keys(node).some((key) => key.startsWith("__reactFiber"));
        }),
      { message: `${what} hydrates` },
    )
    .toBe(true);
}

test("sign-in, the API, static files and errors carry the protective headers", async ({ page, request }) => {
  const problems = await watchForViolations(page);

  const signInPage = await page.goto("/sign-in");
  const first = await expectNonceOnEveryScript(signInPage, "/sign-in");
  await expectHydrated(page, "/sign-in");
  // The watch itself works, and the policy holds: an inline event handler (what an injected attribute would be)
  // is blocked and reported.
  await page.evaluate(() => {
    document.body.setAttribute("onclick", "document.body.dataset.injected = 'ran'");
    document.body.click();
  });
  await expect.poll(() => problems.length).toBeGreaterThan(0);
  expect(problems.join("\n")).toMatch(/script-src/);
  expect(await page.evaluate(() => document.body.dataset.injected)).toBeUndefined();
  problems.length = 0;
  // A fresh nonce for every answer: one seen once is no use to an attacker.
  const again = await expectProtectiveHeaders(await request.get("/sign-in"), "/sign-in again");
  expect(again).toBeTruthy();
  expect(again).not.toBe(first);

  await expectProtectiveHeaders(await request.get("/api/v1/openapi.json"), "/api/v1/openapi.json");
  // Refusals and errors too: an anonymous API call, an unknown page.
  const anonymous = await request.get("/api/v1/me");
  expect(anonymous.status()).toBe(401);
  await expectProtectiveHeaders(anonymous, "/api/v1/me (401)");
  const missing = await request.get("/no-such-page");
  expect(missing.status()).toBe(404);
  await expectProtectiveHeaders(missing, "/no-such-page (404)");
  // Static files: the public folder and the framework's own bundles.
  await expectProtectiveHeaders(await request.get("/favicon.svg"), "/favicon.svg");
  const bundle = /<script\b[^>]*\bsrc="(\/_next\/static\/[^"]+)"/.exec(await signInPage!.text())?.[1];
  expect(bundle, "a framework bundle in the sign-in page").toBeTruthy();
  await expectProtectiveHeaders(await request.get(bundle!), bundle!);

  // The form still works under the policy: the client component submits and the user lands signed in.
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  expect(problems).toEqual([]);
});

test("every dashboard page answers with the headers and loads with no CSP violation", async ({ page }) => {
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  const problems = await watchForViolations(page);
  for (const path of ["/", "/replicas", "/sessions", "/schedules", "/audit", "/users", "/profile", "/failback/new"]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(200);
    await expectNonceOnEveryScript(response, path);
    await expect(page.getByTestId("signed-in-as"), path).toHaveText(e2eRun.adminEmail);
    await expectHydrated(page, path);
    expect(problems, path).toEqual([]);
  }
  // The not-found page too: rendered per request, so its scripts carry the nonce and it hydrates.
  const missing = await page.goto("/no-such-page");
  expect(missing?.status()).toBe(404);
  await expectNonceOnEveryScript(missing, "/no-such-page");
  await expectHydrated(page, "/no-such-page");
  expect(problems, "/no-such-page").toEqual([]);

  // Client components work: a server action posted from the form on the clickjacked page, its one-time answer
  // rendered by the client (the document never reloads: the marker set here survives)...
  await page.goto("/profile");
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const stayed = () => page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true);
  const tokenName = `csp-check-${e2eRun.id}`;
  const tokenForm = page.getByRole("form", { name: "Create API token" });
  await tokenForm.getByLabel("Token name").fill(tokenName);
  await tokenForm.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByTestId("new-token")).toHaveText(/^fbk_/);
  await page.getByRole("button", { name: `Revoke ${tokenName}` }).click();
  await expect(page.getByRole("button", { name: `Revoke ${tokenName}` })).toHaveCount(0);
  expect(await stayed()).toBe(true);
  // ...and the navigation moves between pages without reloading the document (the router's chunks may load).
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Replicas" }).click();
  await expect(page.getByRole("heading", { name: "Replicas", exact: true })).toBeVisible();
  expect(await stayed()).toBe(true);
  expect(problems).toEqual([]);
});

test("a page on another port cannot frame the dashboard", async ({ page }) => {
  await signIn(page, e2eRun.adminEmail, e2eRun.adminPassword);
  const target = `http://127.0.0.1:${e2eRun.port}/profile`;
  // Another origin on the same host: same-site, so the browser sends the session cookie along into the frame.
  const attacker = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><title>prize</title><iframe id="victim" src="${target}" width="900" height="700"></iframe>`,
    );
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = attacker.address() as AddressInfo;
    const refusals: string[] = [];
    page.on("console", (message) => {
      if (/frame-ancestors/.test(message.text())) refusals.push(message.text());
    });
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: "load" });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame, "the attacker's frame").toBeDefined();
    // Chromium replaces a refused frame with its own error document: none of the app is in it.
    const shown = await frame!.evaluate(() => document.body?.innerText ?? "").catch(() => "");
    expect(shown).not.toContain(e2eRun.adminEmail);
    expect(await frame!.locator('[data-testid="signed-in-as"]').count()).toBe(0);
    expect(frame!.url()).not.toBe(target);
    await expect
      .poll(() => refusals.length, { message: "Chromium reports the frame-ancestors refusal" })
      .toBeGreaterThan(0);
  } finally {
    await new Promise<void>((resolve) => attacker.close(() => resolve()));
  }
});
