// The command line against the real API route handlers (in-process: fetch is routed to the handlers, which
// use the run's PostgreSQL): output, stored credentials and the exit codes scripts rely on.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { failbackSessions, type ItemState } from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import {
  fabricateSession,
  finishFabricated,
  userWithToken,
  type FabricatedSession,
  type Handler,
  type TokenUser,
} from "@/lib/api/testing/fixtures";
import { closeApiResources, loadApiRoutes, type ApiRoutes } from "@/lib/api/testing/routes";
import type { CliIo } from "./io";
import { runCli } from "./main";

const database = testDatabase();
const { db } = database;
const server = "http://failback.test";
let routes: ApiRoutes;
let operator: TokenUser;
let viewer: TokenUser;
const made: FabricatedSession[] = [];
const configDirs: string[] = [];

beforeAll(async () => {
  routes = await loadApiRoutes();
  operator = await userWithToken(db, "operator");
  viewer = await userWithToken(db, "viewer");
});
afterAll(async () => {
  await finishFabricated(db, made);
  await closeApiResources();
  await database.close();
  for (const dir of configDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** fetch, answered by the route handlers themselves. */
async function routedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const { pathname } = new URL(request.url);
  const parts = pathname
    .replace(/^\/api\/v1\//, "")
    .split("/")
    .map(decodeURIComponent);
  const get = request.method === "GET";
  let handler: Handler | undefined;
  let params: Record<string, string> = {};
  if (parts[0] === "me") handler = routes.me;
  else if (parts[0] === "replicas")
    [handler, params] = parts[1] ? [routes.getReplica, { id: parts[1] }] : [routes.listReplicas, {}];
  else if (parts[0] === "sessions" && parts.length === 1) handler = get ? routes.listSessions : routes.startSession;
  else if (parts[0] === "sessions" && parts.length === 2)
    [handler, params] = [routes.getSession, { id: parts[1] as string }];
  else if (parts[0] === "sessions" && parts[2] === "events")
    [handler, params] = [routes.events, { id: parts[1] as string }];
  else if (parts[0] === "sessions")
    [handler, params] = [routes.actions[parts[2] as keyof ApiRoutes["actions"]], { id: parts[1] as string }];
  if (!handler) return new Response("no such route", { status: 404 });
  return handler(request, { params: Promise.resolve(params) });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(configDir: string) {
  return async (...argv: string[]): Promise<Run> => {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: { FAILBACK_CONFIG_DIR: configDir },
      fetch: routedFetch as typeof fetch,
      readStdin: async () => "",
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  };
}

async function loggedIn(user: TokenUser) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-cli-"));
  configDirs.push(dir);
  const run = cli(dir);
  expect((await run("login", "--server", server, "--token", user.token)).code).toBe(0);
  return run;
}

async function session(
  state: Parameters<typeof fabricateSession>[1]["state"],
  extra: Partial<Parameters<typeof fabricateSession>[1]> = {},
) {
  const s = await fabricateSession(db, { state, createdBy: operator.user.id, ...extra });
  made.push(s);
  return s;
}

const errorOf = (run: Run) =>
  (JSON.parse(run.stderr) as { error: { code: string; message: string; fieldErrors?: Record<string, string[]> } })
    .error;

describe("login", () => {
  it("checks the token, then stores server and token readable by the owner only", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-cli-"));
    configDirs.push(dir);
    const run = await cli(dir)("login", "--server", `${server}/`, "--token", operator.token, "--json");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ server, email: operator.user.email, role: "operator" });
    const file = path.join(dir, "credentials.json");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ server, token: operator.token });
  });

  it("refuses a bad token with exit code 3 and stores nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-cli-"));
    configDirs.push(dir);
    const run = await cli(dir)("login", "--server", server, "--token", "fbk_nope", "--json");
    expect(run.code).toBe(3);
    expect(errorOf(run).code).toBe("UNAUTHENTICATED");
    expect(fs.existsSync(path.join(dir, "credentials.json"))).toBe(false);
  });

  it("makes every other command exit 3 before a login", async () => {
    const run = await cli(fs.mkdtempSync(path.join(os.tmpdir(), "failback-cli-")))("replicas");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/Not logged in/);
  });
});

describe("reading", () => {
  it("lists replicas as JSON and as a table, filtered by name", async () => {
    const s = await session("ready_to_switch");
    const run = await loggedIn(operator);
    const all = await run("replicas", "--json");
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as { id: string; sourceVmName: string }[];
    const mine = rows.find((r) => r.id === s.replicaId);
    expect(mine).toBeDefined();
    const table = await run("replicas", "--name", mine?.sourceVmName ?? "");
    expect(table.stdout).toContain(s.replicaId);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+VM\s+STATE/);
  });

  it("shows a session, and exits 4 for an unknown one", async () => {
    const s = await session("switched");
    const run = await loggedIn(viewer);
    const shown = await run("status", s.session.id, "--json");
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ session: { id: s.session.id, state: "switched" } });
    expect((await run("status", s.session.id)).stdout).toMatch(/^Session .*: switched/);
    const missing = await run("status", "00000000-0000-4000-8000-000000000404", "--json");
    expect(missing.code).toBe(4);
    expect(errorOf(missing).code).toBe("NOT_FOUND");
  });
});

describe("acting", () => {
  it("commits a switched session (exit 0), refuses a second commit (exit 5) and a viewer (exit 3)", async () => {
    const s = await session("switched");
    const run = await loggedIn(operator);
    const done = await run("commit", s.session.id);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^Committing/);
    const again = await run("commit", s.session.id, "--json");
    expect(again.code).toBe(5);
    expect(errorOf(again).code).toBe("INVALID_STATE");
    const denied = await (await loggedIn(viewer))("undo", s.session.id, "--json");
    expect(denied.code).toBe(3);
    expect(errorOf(denied).code).toBe("FORBIDDEN");
  });

  it("passes the API's field errors on (exit 6) and catches usage mistakes itself (exit 2)", async () => {
    const s = await session("phase1", { switchMode: "scheduled", schedule: true });
    const run = await loggedIn(operator);
    const past = await run("reschedule", s.session.id, "--at", "2020-01-01T10:00", "--zone", "Europe/Berlin", "--json");
    expect(past.code).toBe(6);
    expect(errorOf(past).fieldErrors).toHaveProperty("local");
    expect((await run("reschedule", s.session.id)).code).toBe(2);
    expect((await run("commit")).code).toBe(2);
    expect((await run("start", "--replica", s.replicaId, "--switch", "sometime")).code).toBe(2);
    expect((await run("frobnicate")).code).toBe(2);
  });

  it("starts by replica id or VM name, with the engine's refusals as exit codes", async () => {
    const s = await session("ready_to_switch");
    const run = await loggedIn(operator);
    const unknown = await run("start", "--replica", "00000000-0000-4000-8000-00000000beef", "--json");
    expect(unknown.code).toBe(4);
    const [row] = await (
      await import("@/lib/db/queries/replicas")
    )
      .listReplicas(db)
      .then((rows) => rows.filter((r) => r.id === s.replicaId));
    const busy = await run("start", "--replica", row?.sourceVmName ?? "", "--json");
    expect(busy.code).toBe(5); // resolved by name, then refused: the replica is in a live session already
    expect(errorOf(busy).code).toBe("CONFLICT");
  });
});

describe("status --follow", () => {
  async function moveSession(sessionId: string, from: ItemState, to: "switched" | "committed") {
    await db.transaction(async (tx) => {
      await tx.update(failbackSessions).set({ state: to }).where(eq(failbackSessions.id, sessionId));
      await appendEvent(tx, { sessionId, type: "session.state", payload: { from, to } });
    });
  }

  it("prints the events as JSON lines until the session reaches --until, then its status", async () => {
    const s = await session("ready_to_switch");
    const run = await loggedIn(operator);
    const following = run("status", s.session.id, "--follow", "--until", "switched", "--json", "--timeout", "30");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await moveSession(s.session.id, "ready_to_switch", "switched");
    const result = await following;
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            event?: { type: string; payload: { to?: string } };
            session?: { session: { state: string } };
          },
      );
    expect(lines.filter((l) => l.event).map((l) => l.event?.type)).toEqual([
      "session.created",
      "item.state",
      "session.state",
    ]);
    expect(lines.at(-1)?.session?.session.state).toBe("switched");
  });

  it("exits 5 when the session ends somewhere else than --until", async () => {
    const s = await session("ready_to_switch");
    const run = await loggedIn(operator);
    const following = run("status", s.session.id, "--follow", "--until", "switched", "--json", "--timeout", "30");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await moveSession(s.session.id, "ready_to_switch", "committed");
    const result = await following;
    expect(result.code).toBe(5);
    expect(errorOf(result).message).toMatch(/ended committed/);
  });

  it("prints the history and returns at once when the session is there already", async () => {
    const s = await session("switched");
    const run = await loggedIn(operator);
    const result = await run("status", s.session.id, "--follow", "--until", "switched");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Session .*: switched/);

    const json = await run("status", s.session.id, "--follow", "--until", "switched", "--json");
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event?: { id: number; type: string }; session?: { session: { state: string } } });
    const events = lines.flatMap((l) => (l.event ? [l.event] : []));
    expect(events.map((e) => e.type)).toEqual(["session.created", "item.state"]);
    expect(lines.at(-1)?.session?.session.state).toBe("switched");

    // --after continues where an earlier follow stopped: only the later events.
    const later = await run(
      "status",
      s.session.id,
      "--follow",
      "--until",
      "switched",
      "--json",
      "--after",
      String(events[0]?.id),
    );
    expect(
      later.stdout
        .trim()
        .split("\n")
        .flatMap((l) => (JSON.parse(l) as { event?: { type: string } }).event?.type ?? []),
    ).toEqual(["item.state"]);
  });
});
