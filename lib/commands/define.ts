// What a command of the catalogue is. Everything a surface needs to offer it — the dashboard's server action,
// the /api/v1 route, the OpenAPI document, the command line — is read from here, so a command is defined once:
// its name, permission, audit action, input schema, target, route and the call that carries it out.
import type { z } from "zod";
import type { Permission } from "@/lib/auth/permissions";
import type { Db, Tx } from "@/lib/db/client";
import type { PreflightFactsSource } from "@/lib/engine/preflight/facts";

/** What a command acts on, as its audit row names it. Later kinds (hosts, jobs, plans) join this list. */
export const commandTargets = ["failback_session", "replica", "user", "api_token"] as const;
export type CommandTarget = (typeof commandTargets)[number];

/** The input field that names a command's target, for the audit rows of refusals (which session, which user). */
const targetFields: Record<CommandTarget, (input: Record<string, unknown>) => unknown> = {
  failback_session: (input) => input.sessionId,
  replica: (input) => (Array.isArray(input.items) ? (input.items[0] as { replicaId?: unknown })?.replicaId : undefined),
  user: (input) => input.userId,
  api_token: (input) => input.tokenId,
};

/** What a request names as the command's target, as given (bounded: a refusal's input is not trusted). */
export function targetNamedBy(
  target: CommandTarget,
  raw: unknown,
): { targetType: CommandTarget; targetId: string } | null {
  const value = raw && typeof raw === "object" ? targetFields[target](raw as Record<string, unknown>) : undefined;
  return typeof value === "string" && value ? { targetType: target, targetId: value.slice(0, 100) } : null;
}

/** Who asked, as every command and its audit row see it. */
export interface CommandActor {
  /** Null for the engine acting on its own. */
  userId: string | null;
  label: string;
  clientIp?: string | null;
  userAgent?: string | null;
}

/** The caller as commands and their audit rows name it: a signed-in user, by cookie or API token. */
export function commandActorOf(who: {
  userId: string;
  email: string;
  clientIp: string | null;
  userAgent: string | null;
}): CommandActor {
  return { userId: who.userId, label: who.email, clientIp: who.clientIp, userAgent: who.userAgent };
}

/** Where the request came in, recorded in the audit row's details. */
export type CommandVia = "dashboard" | "api" | "engine";

export interface AuditNote {
  targetType?: CommandTarget;
  targetId?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** Work for the workers once the command's transaction has committed (a lost nudge is found by their sweep). */
export interface Nudge {
  itemIds?: string[];
  schedule?: { id: string; runAt: Date };
}

export interface Nudger {
  nudge(work: Nudge): Promise<void>;
}

/** What is known before the command's transaction opens (a pre-flight that asks a worker, say). */
export interface PrepareContext<I> {
  db: Db;
  actor: CommandActor;
  input: I;
  services: CommandServices;
}

export interface RunContext<I, P> {
  tx: Tx;
  actor: CommandActor;
  input: I;
  prepared: P;
  /** What the audit row says about this command (its action is always the catalogue's). */
  audit(note: AuditNote): void;
  /** Work to hand the workers after commit. */
  nudge(work: Nudge): void;
}

/**
 * What commands may use besides the database, given by the process that runs them: the web process asks a
 * worker for hypervisor facts, an in-process engine (tests, the lab) collects them itself.
 */
export interface CommandServices {
  preflightFacts: PreflightFactsSource;
}

export interface HttpRoute<R> {
  method: "POST" | "PUT" | "DELETE";
  /** Under /api/v1, with `{field}` for the input fields the path carries (`/sessions/{sessionId}/commit`). */
  path: string;
  /** 201 and the new resource's path, for what creates one; 200 otherwise. */
  created?: (result: R) => string;
  /** The name of the answer's schema in the OpenAPI document (lib/api/openapi/schemas.ts). */
  response: "CommandResult" | "StartedFailback" | "FailbackReview";
}

export interface CommandSpec<S extends z.ZodType, P, R> {
  /** The command line's word and the server action's key, `verb-noun` (`switch-now`, `create-user`). */
  name: string;
  /** A short label for buttons and lists. */
  title: string;
  /** One sentence: what it does (the API document and the command line's help). */
  summary: string;
  permission: Permission;
  /** The audit log's action for this command: success and denial rows alike, from every surface. */
  audit: string;
  target: CommandTarget;
  /** Every field the command takes, path fields included; unknown fields are refused. */
  input: S;
  /** The API route; absent for commands offered only in the dashboard (own API tokens). */
  http?: HttpRoute<R>;
  /** Offered by the command line (over the API) under `name`. */
  cli?: boolean;
  prepare?: (ctx: PrepareContext<z.infer<S>>) => Promise<P>;
  run: (ctx: RunContext<z.infer<S>, P>) => Promise<R>;
  /** What the dashboard says after success. */
  message?: (result: R) => string;
  /** The dashboard pages that show what the command changed. */
  pages?: (result: R, input: z.infer<S>) => string[];
}

export type AnyCommand = CommandSpec<z.ZodType, unknown, unknown>;

/** Identity with types: keeps each entry's input, prepared and result types tied together. */
export function defineCommand<S extends z.ZodType, P = undefined, R = unknown>(
  spec: CommandSpec<S, P, R>,
): CommandSpec<S, P, R> {
  return spec;
}
