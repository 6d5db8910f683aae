// How the dashboard runs a command of the catalogue, in the order every surface keeps:
// authenticate → refuse a cross-site request → authorize the command's permission (a denial is audited under
// the command's audit action and changes nothing, even for malformed input) → execute (validate, act and audit
// in one transaction, nudge the workers). Errors come back as values for forms, never thrown at them.
import "server-only";
import { headers } from "next/headers";
import { revalidatePath } from "next/cache";
import { crossSiteRefusal } from "@/lib/api/same-origin";
import { currentActor, type Actor } from "@/lib/auth/actor";
import { can } from "@/lib/auth/permissions";
import { currentRequestInfo } from "@/lib/auth/request-info";
import { commandActorOf, targetNamedBy, type AnyCommand } from "@/lib/commands/define";
import { executeCommand } from "@/lib/commands/execute";
import { db } from "@/lib/db/client";
import { countAnonymousDenial } from "@/lib/db/queries/anonymous-denials";
import { appendAudit } from "@/lib/db/queries/audit";
import { AppError, describeError, type ActionResult } from "@/lib/errors";
import { webNudger, webServices } from "@/lib/server/engine-instance";
import { inputToObject } from "./form-input";

async function auditDenial(command: AnyCommand, actor: Actor | null, reason: string, raw: unknown) {
  if (!actor) {
    // Anonymous refusals are counted per client and minute, not written one row each (see the query's file).
    await countAnonymousDenial(db(), { ...(await currentRequestInfo()), action: command.audit, reason });
    return;
  }
  await appendAudit(db(), {
    ...targetNamedBy(command.target, inputToObject(raw)),
    actorUserId: actor.userId,
    actorLabel: actor.email,
    action: command.audit,
    outcome: "denied",
    reason,
    clientIp: actor.clientIp,
    userAgent: actor.userAgent,
    details: { via: "dashboard" },
  });
}

/** The action's request as the Origin check needs it: a POST with the headers the browser sent. */
async function currentRequestAsSeen(): Promise<Request> {
  const h = await headers();
  return new Request(`http://${h.get("host") ?? "localhost"}/`, { method: "POST", headers: h });
}

export async function runDashboardCommand<R>(command: AnyCommand, raw: unknown): Promise<ActionResult<R>> {
  const actor = await currentActor();
  if (!actor) {
    await auditDenial(command, null, "not signed in", raw);
    return { ok: false, code: "UNAUTHENTICATED", message: "Sign in to continue." };
  }
  // Server actions are cookie-authenticated POSTs: one from another site (or with no Origin at all) is refused
  // the same way as on the API, before anything else is looked at.
  const crossSite = crossSiteRefusal(await currentRequestAsSeen());
  if (crossSite) {
    await auditDenial(command, actor, crossSite, raw);
    return { ok: false, code: "FORBIDDEN", message: "This request did not come from this site's own pages." };
  }
  if (!can(actor.role, command.permission)) {
    await auditDenial(command, actor, `missing permission ${command.permission}`, raw);
    return { ok: false, code: "FORBIDDEN", message: `Your role (${actor.role}) may not do this.` };
  }
  try {
    const { result, input } = await executeCommand<R>(command, inputToObject(raw), {
      db: db(),
      actor: commandActorOf(actor),
      via: "dashboard",
      services: webServices(),
      nudger: webNudger(),
    });
    for (const page of command.pages?.(result, input) ?? []) revalidatePath(page);
    return { ok: true, data: result, message: command.message?.(result) };
  } catch (err) {
    if (err instanceof AppError) {
      const message = err.code === "VALIDATION" && err.fieldErrors ? "Check the highlighted fields." : err.message;
      return { ok: false, code: err.code, message, fieldErrors: err.fieldErrors };
    }
    console.error(`[action ${command.name}] ${describeError(err, { withStack: true })}`);
    return { ok: false, code: "INTERNAL", message: "Something went wrong on the server; it has been logged." };
  }
}
