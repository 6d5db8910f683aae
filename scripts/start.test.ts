// The README's start command, end to end, on the embedded default: first start prints the admin, the admin
// signs in, SIGKILL leaves PostgreSQL running, the next start takes over without manual cleanup.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "@/lib/testing/free-port";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-start-"));
fs.chmodSync(dataDir, 0o755); // mkdtemp makes it 0700; the embedded server's postgres user must enter it
const started: ChildProcess[] = [];

interface Running {
  child: ChildProcess;
  output: () => string;
}

function startProduct(env: Record<string, string>): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, FAILBACK_DATA_DIR: dataDir, FAILBACK_LAB: "0" };
  delete childEnv.DATABASE_URL; // the embedded default is what this test is about
  delete childEnv.FAILBACK_ADMIN_PASSWORD;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 180_000, running?: Running) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    const gone = running && (running.child.exitCode !== null || running.child.signalCode !== null);
    if (gone || Date.now() > deadline)
      throw new Error(`${gone ? "exited" : "timed out"} waiting for ${what}\n${running?.output() ?? ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function postmasterPid(): number {
  const file = path.join(dataDir, "postgres", "cluster", "postmaster.pid");
  return Number.parseInt(fs.readFileSync(file, "utf8").split("\n")[0] ?? "", 10);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signs in through next-auth's own endpoints, as a browser form would, and returns the cookie header. */
async function signIn(base: string, email: string, password: string): Promise<string | null> {
  const csrf = await fetch(`${base}/api/auth/csrf`);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const cookies = csrf.headers.getSetCookie().map((c) => c.split(";")[0]);
  const response = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookies.join("; ") },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${base}/` }),
  });
  const session = response.headers.getSetCookie().find((c) => c.startsWith("authjs.session-token="));
  return session ? [...cookies, session.split(";")[0]].join("; ") : null;
}

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await Promise.all(started.map(exited));
  try {
    const pid = postmasterPid();
    if (alive(pid)) process.kill(pid, "SIGINT");
  } catch {
    // no cluster left
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start on the embedded database", () => {
  it("survives SIGKILL: the next start reuses the data and takes over the left-over server", async () => {
    const env = { PORT: String(await freePort()), FAILBACK_EMBEDDED_PG_PORT: String(await freePort()) };
    const base = `http://127.0.0.1:${env.PORT}`;

    const first = startProduct(env);
    await waitFor(() => first.output().includes("Ready:"), "first start", 180_000, first);
    const password = /password: (\S+)/.exec(first.output())?.[1] ?? "";
    expect(password).not.toBe("");
    const cookie = await signIn(base, "admin@failback.local", password);
    expect(cookie).not.toBeNull();
    const overview = await fetch(`${base}/`, { headers: { cookie: cookie ?? "" } });
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain("admin@failback.local");
    expect(await signIn(base, "admin@failback.local", "wrong-password")).toBeNull();

    // A second start on the same data folder is refused while the first runs.
    const second = startProduct({ ...env, PORT: String(await freePort()) });
    expect(await exited(second.child)).toBe(1);
    expect(second.output()).toContain("already running");

    const pgPid = postmasterPid();
    first.child.kill("SIGKILL");
    await exited(first.child);
    expect(alive(pgPid)).toBe(true); // the crash left PostgreSQL behind, as a real one would

    const third = startProduct(env);
    await waitFor(() => third.output().includes("Ready:"), "restart after SIGKILL", 180_000, third);
    expect(third.output()).toContain(`Reusing the PostgreSQL server (pid ${pgPid}) already running`);
    expect(third.output()).not.toContain("First start");
    expect(await signIn(base, "admin@failback.local", password)).not.toBeNull();

    // The next run after a kill stops the adopted server with itself.
    const newPgPid = postmasterPid();
    expect(newPgPid).toBe(pgPid);
    third.child.kill("SIGTERM");
    expect(await exited(third.child)).toBe(0);
    await waitFor(() => !alive(newPgPid), "PostgreSQL to stop with the product", 30_000);
    expect(fs.existsSync(path.join(dataDir, "server.pid"))).toBe(false);
  }, 420_000);
});
