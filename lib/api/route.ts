// The one wrapper every API route handler is built on, in the order architecture.md fixes:
// authenticate → authorize a named permission (a denial is audited and changes nothing, whatever the body
// holds — the body is not even read yet) → the route validates and acts (the engine audits its own commands)
// → every error becomes a typed JSON response.
import "server-only";
import type { Permission } from "@/lib/auth/permissions";
import { db, type Db } from "@/lib/db/client";
import { requestInfoFrom } from "@/lib/auth/request-info";
import { authenticate } from "./authenticate";
import { authorize } from "./authorize";
import { ApiDenial, auditDenial } from "./denial";
import { describeError } from "@/lib/errors";
import { responseForError } from "./errors";
import type { ApiPrincipal } from "./principal";

export type RouteParams = Record<string, string>;

export interface RouteContext<P extends RouteParams> {
  request: Request;
  principal: ApiPrincipal;
  params: P;
  db: Db;
}

export interface RouteSpec<P extends RouteParams> {
  /** The audit log's name for what was attempted (`failback.commit`, `session.read`, …). */
  operation: string;
  /** The permission it needs; null for what any signed-in caller may ask (who am I). */
  permission: Permission | null;
  /** What a denial concerns, for its audit row. */
  target?: (params: Partial<P>) => { type: string; id: string } | undefined;
  run: (ctx: RouteContext<P>) => Promise<Response>;
}

/**
 * Next.js calls a route handler with the request and a promise of the path's params (optional here so tests
 * can call routes without dynamic segments with the request alone).
 */
export type RouteHandler<P extends RouteParams> = (
  request: Request,
  context?: { params: Promise<P> },
) => Promise<Response>;

export function apiRoute<P extends RouteParams = RouteParams>(spec: RouteSpec<P>): RouteHandler<P> {
  return async function handle(request, context) {
    let params: Partial<P> = {};
    try {
      params = ((await context?.params) ?? {}) as Partial<P>;
      const database = db();
      const principal = await authenticate(database, request);
      if (spec.permission) authorize(principal, spec.permission);
      return await spec.run({ request, principal, params: params as P, db: database });
    } catch (err) {
      if (err instanceof ApiDenial) {
        const info = requestInfoFrom(request.headers);
        await auditDenial(db(), err, {
          operation: spec.operation,
          request,
          ...info,
          target: spec.target?.(params),
        }).catch((auditErr: unknown) => {
          console.error(`[api ${spec.operation}] could not audit a denial: ${describeError(auditErr)}`);
        });
      }
      return responseForError(err, spec.operation);
    }
  };
}
