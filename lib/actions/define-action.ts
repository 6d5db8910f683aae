// The one wrapper every server action is built on:
// authenticate → authorize a named permission (a denial is audited and changes nothing, even for malformed
// input) → validate (typed field errors) → act + audit in one transaction.
import type { z } from "zod";
import { currentActor, type Actor } from "@/lib/auth/actor";
import { can, type Permission } from "@/lib/auth/permissions";
import { currentRequestInfo } from "@/lib/auth/request-info";
import { crossSiteRefusal } from "@/lib/api/same-origin";
import { headers } from "next/headers";
import { db, type Tx } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { AppError, fieldErrorsOf, type ActionResult } from "@/lib/errors";

export interface ActionContext<I> {
  actor: Actor;
  input: I;
  tx: Tx;
  /** Adds what the audit row should say about this action (target, details). */
  audit: (entry: {
    targetType?: string;
    targetId?: string;
    details?: Record<string, unknown>;
    reason?: string;
  }) => void;
}

export interface ActionSpec<S extends z.ZodType, T> {
  /** Audit name, `noun.verb`. */
  name: string;
  permission: Permission;
  input: S;
  run: (ctx: ActionContext<z.infer<S>>) => Promise<T>;
  successMessage?: (data: T) => string;
}

/** Forms send FormData; scripts and components may send a plain object. Prototype keys are never copied. */
export function inputToObject(raw: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  if (raw instanceof FormData) {
    for (const [key, value] of raw.entries()) {
      if (key.startsWith("$ACTION")) continue;
      out[key] = typeof value === "string" ? value : "";
    }
    return out;
  }
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) out[key] = value;
  }
  return out;
}

async function auditDenial(name: string, actor: Actor | null, reason: string) {
  const request = actor ?? (await currentRequestInfo());
  await appendAudit(db(), {
    actorUserId: actor?.userId ?? null,
    actorLabel: actor?.email ?? "anonymous",
    action: name,
    outcome: "denied",
    reason,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
  });
}

/** The action's request as the Origin check needs it: a POST with the headers the browser sent. */
async function currentRequestAsSeen(): Promise<Request> {
  const h = await headers();
  return new Request(`http://${h.get("host") ?? "localhost"}/`, { method: "POST", headers: h });
}

/**
 * Builds a server action usable with useActionState (`(previous, formData)`) or called directly with an object.
 * Errors come back as values, never thrown at a form.
 */
export function defineAction<S extends z.ZodType, T>(spec: ActionSpec<S, T>) {
  return async function action(_previous: unknown, raw: unknown): Promise<ActionResult<T>> {
    const actor = await currentActor();
    if (!actor) {
      await auditDenial(spec.name, null, "not signed in");
      return { ok: false, code: "UNAUTHENTICATED", message: "Sign in to continue." };
    }
    // Server actions are cookie-authenticated POSTs: one from another site (or with no Origin at all) is refused
    // the same way as on the API, before anything else is looked at.
    const crossSite = crossSiteRefusal(await currentRequestAsSeen());
    if (crossSite) {
      await auditDenial(spec.name, actor, crossSite);
      return { ok: false, code: "FORBIDDEN", message: "This request did not come from this site's own pages." };
    }
    if (!can(actor.role, spec.permission)) {
      await auditDenial(spec.name, actor, `missing permission ${spec.permission}`);
      return { ok: false, code: "FORBIDDEN", message: `Your role (${actor.role}) may not do this.` };
    }
    const parsed = spec.input.safeParse(inputToObject(raw));
    if (!parsed.success) {
      return {
        ok: false,
        code: "VALIDATION",
        message: "Check the highlighted fields.",
        fieldErrors: fieldErrorsOf(parsed.error),
      };
    }
    try {
      const data = await db().transaction(async (tx) => {
        const extra: Parameters<ActionContext<unknown>["audit"]>[0] = {};
        const result = await spec.run({ actor, input: parsed.data, tx, audit: (e) => Object.assign(extra, e) });
        await appendAudit(tx, {
          actorUserId: actor.userId,
          actorLabel: actor.email,
          action: spec.name,
          outcome: "ok",
          targetType: extra.targetType,
          targetId: extra.targetId,
          reason: extra.reason,
          details: extra.details ?? {},
          clientIp: actor.clientIp,
          userAgent: actor.userAgent,
        });
        return result;
      });
      return { ok: true, data, message: spec.successMessage?.(data) };
    } catch (err) {
      if (err instanceof AppError) {
        return { ok: false, code: err.code, message: err.message, fieldErrors: err.fieldErrors };
      }
      console.error(`[action ${spec.name}]`, err);
      return { ok: false, code: "INTERNAL", message: "Something went wrong on the server; it has been logged." };
    }
  };
}
