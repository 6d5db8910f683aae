// Starting a failback: validate (typed field errors), pre-flight every replica, then write the session, its
// items, the schedule, the events and the audit row in one transaction. Workers pick the items up from there.
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { failbackItems, failbackSessions, switchSchedules } from "@/lib/db/schema";
import { AppError, fieldErrorsOf, type FieldErrors } from "@/lib/errors";
import { appendEvent } from "@/lib/events/events";
import { preflightItem, type PreflightResult } from "./preflight";
import { resolveSwitchTime, switchTimeErrorField } from "./switch-time";
import type { EngineActor, StartFailbackRequest } from "./types";

const uuid = z.uuid({ message: "must be an id" });

export const startFailbackSchema = z
  .object({
    items: z
      .array(
        z.strictObject({
          replicaId: uuid,
          target: z.enum(["original", "recovered", "new_location"]),
          recoveredVmId: uuid.optional(),
          newLocation: z
            .strictObject({
              hostId: uuid,
              name: z
                .string()
                .trim()
                .min(1, "Name the new VM.")
                .max(63)
                .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "Letters, digits, spaces, dots, dashes and underscores only."),
              cpus: z.number().int().min(1).max(64).optional(),
              memoryMib: z.number().int().min(16).max(1_048_576).optional(),
              network: z.string().trim().min(1).max(64).optional(),
            })
            .optional(),
        }),
      )
      .min(1, "Choose at least one replica.")
      .max(200, "At most 200 replicas per session."),
    quickRollback: z.boolean().default(false),
    switchMode: z.enum(["auto", "scheduled", "manual"]),
    switchAt: z.strictObject({ local: z.string().max(32), timeZone: z.string().min(1).max(64) }).optional(),
    powerOnAfter: z.boolean().default(true),
    shutdownTimeoutSeconds: z.number().int().min(0).max(86_400).default(900),
    reason: z.string().max(2000).default(""),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.items.forEach((item, i) => {
      if (seen.has(item.replicaId))
        ctx.addIssue({ code: "custom", path: ["items", i, "replicaId"], message: "This replica is listed twice." });
      seen.add(item.replicaId);
      if (item.target === "recovered" && !item.recoveredVmId)
        ctx.addIssue({ code: "custom", path: ["items", i, "recoveredVmId"], message: "Choose the recovered VM." });
      if (item.target === "new_location" && !item.newLocation)
        ctx.addIssue({
          code: "custom",
          path: ["items", i, "newLocation"],
          message: "Choose the host and name of the new VM.",
        });
    });
    if (value.switchMode === "scheduled" && !value.switchAt)
      ctx.addIssue({ code: "custom", path: ["switchAt"], message: "Choose the switch time and its time zone." });
  });

export interface StartedFailback {
  sessionId: string;
  itemIds: string[];
  scheduleId: string | null;
  runAt: Date | null;
  preflight: PreflightResult[];
}

function validationError(error: z.ZodError): AppError {
  return new AppError("VALIDATION", "Some of the failback settings are not valid.", fieldErrorsOf(error));
}

/** Checks a request without starting anything (the wizard's review step). */
export async function checkFailback(db: Db, raw: unknown, guestCacheDir: string, now = new Date()) {
  const parsed = startFailbackSchema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  const request = parsed.data as StartFailbackRequest & typeof parsed.data;
  const fields: FieldErrors = {};
  let code: AppError["code"] | null = null;
  let runAt: Date | null = null;
  if (request.switchMode === "scheduled" && request.switchAt) {
    const resolved = resolveSwitchTime(request.switchAt.local, request.switchAt.timeZone, now);
    if (!resolved.ok) {
      fields[`switchAt.${switchTimeErrorField(resolved.error)}`] = [resolved.error.message];
      code = "VALIDATION";
    } else runAt = resolved.instant;
  }
  const preflight: PreflightResult[] = [];
  for (const [i, item] of request.items.entries()) {
    const result = await preflightItem(db, item, i, request.quickRollback, guestCacheDir);
    preflight.push(result);
    for (const refusal of result.refusals) {
      (fields[refusal.field] ??= []).push(refusal.message);
      code ??= refusal.code;
    }
  }
  return { request, runAt, preflight, fields, code };
}

export async function startFailback(
  db: Db,
  actor: EngineActor,
  raw: unknown,
  guestCacheDir: string,
): Promise<StartedFailback> {
  const { request, runAt, preflight, fields, code } = await checkFailback(db, raw, guestCacheDir);
  if (code) {
    const first = Object.values(fields)[0]?.[0] ?? "The failback cannot start.";
    throw new AppError(code, first, fields);
  }
  try {
    return await db.transaction(async (tx) => {
      const [session] = await tx
        .insert(failbackSessions)
        .values({
          switchMode: request.switchMode,
          quickRollback: request.quickRollback,
          powerOnAfter: request.powerOnAfter,
          shutdownTimeoutSeconds: request.shutdownTimeoutSeconds ?? 900,
          reason: request.reason ?? "",
          createdBy: actor.userId,
        })
        .returning();
      if (!session) throw new Error("session insert returned nothing");
      const itemIds: string[] = [];
      for (const [i, item] of request.items.entries()) {
        const check = preflight[i] as PreflightResult;
        const [row] = await tx
          .insert(failbackItems)
          .values({
            sessionId: session.id,
            replicaId: item.replicaId,
            targetKind: item.target,
            targetVmId: check.targetVmId,
            targetOptions: item.newLocation ? { ...item.newLocation } : {},
            originalSourceVmId: check.sourceVmId,
          })
          .returning({ id: failbackItems.id });
        itemIds.push((row as { id: string }).id);
        for (const warning of check.warnings) {
          await appendEvent(tx, {
            sessionId: session.id,
            itemId: (row as { id: string }).id,
            type: "preflight.warning",
            level: "warning",
            payload: { message: warning },
          });
        }
      }
      let scheduleId: string | null = null;
      if (runAt && request.switchAt) {
        const [schedule] = await tx
          .insert(switchSchedules)
          .values({ sessionId: session.id, runAt, timeZone: request.switchAt.timeZone, createdBy: actor.userId })
          .returning({ id: switchSchedules.id });
        scheduleId = (schedule as { id: string }).id;
      }
      await appendEvent(tx, {
        sessionId: session.id,
        type: "session.created",
        payload: {
          by: actor.label,
          items: itemIds.length,
          switchMode: request.switchMode,
          runAt: runAt?.toISOString() ?? null,
          timeZone: request.switchAt?.timeZone ?? null,
        },
      });
      await appendAudit(tx, {
        actorUserId: actor.userId,
        actorLabel: actor.label,
        action: "failback.start",
        outcome: "ok",
        targetType: "failback_session",
        targetId: session.id,
        reason: request.reason || null,
        clientIp: actor.clientIp ?? null,
        userAgent: actor.userAgent ?? null,
        details: {
          replicas: request.items.map((i) => i.replicaId),
          targets: request.items.map((i) => i.target),
          quickRollback: request.quickRollback,
          switchMode: request.switchMode,
          runAt: runAt?.toISOString() ?? null,
          timeZone: request.switchAt?.timeZone ?? null,
          powerOnAfter: request.powerOnAfter,
        },
      });
      return { sessionId: session.id, itemIds, scheduleId, runAt, preflight };
    });
  } catch (err) {
    // Two starts racing for the same replica: the unique "one live item per replica" index decides.
    if ((err as { code?: string }).code === "23505" || (err as { cause?: { code?: string } }).cause?.code === "23505") {
      throw new AppError("CONFLICT", "A replica of this request is already in a failback session.");
    }
    throw err;
  }
}
