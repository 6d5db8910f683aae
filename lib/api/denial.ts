// A refusal that must leave an audit row: unauthenticated, forbidden (role, cross-site) or throttled. It is
// thrown by the checks and written by the route wrapper, so no path can refuse without recording it.
import type { DbOrTx } from "@/lib/db/client";
import { countAnonymousDenial } from "@/lib/db/queries/anonymous-denials";
import { appendAudit } from "@/lib/db/queries/audit";
import { AppError } from "@/lib/errors";
import type { ApiPrincipal } from "./principal";

export type DenialCode = "UNAUTHENTICATED" | "FORBIDDEN" | "THROTTLED";

export class ApiDenial extends AppError {
  constructor(
    code: DenialCode,
    message: string,
    /** Why, for the audit log (more precise than what the caller is told). */
    public readonly reason: string,
    public readonly principal: ApiPrincipal | null = null,
  ) {
    super(code, message);
    this.name = "ApiDenial";
  }
}

export interface DeniedRequest {
  operation: string;
  request: Request;
  clientIp: string;
  userAgent: string;
  target?: { type: string; id: string };
}

export async function auditDenial(db: DbOrTx, denial: ApiDenial, denied: DeniedRequest): Promise<void> {
  const { principal } = denial;
  if (!principal) {
    // Anonymous refusals are counted per client and minute, not written one row each (see the query's file).
    await countAnonymousDenial(db, {
      clientIp: denied.clientIp,
      userAgent: denied.userAgent,
      action: denied.operation,
      reason: denial.reason,
    });
    return;
  }
  const url = new URL(denied.request.url);
  await appendAudit(db, {
    actorUserId: principal.userId,
    actorLabel: principal.email,
    action: denied.operation,
    outcome: "denied",
    targetType: denied.target?.type ?? null,
    // Ids come from the URL: bounded, so a huge path cannot bloat the append-only log.
    targetId: denied.target?.id.slice(0, 100) ?? null,
    reason: denial.reason,
    clientIp: principal.clientIp,
    userAgent: principal.userAgent,
    details: {
      via: "api",
      method: denied.request.method,
      path: url.pathname.slice(0, 300),
      ...(principal.tokenPrefix ? { token: principal.tokenPrefix } : {}),
    },
  });
}
