// Starting a failback: the request's schema, the pre-flight of every replica (from the database and the
// hypervisor facts a worker collected), then the session, its items, the schedule and the events, written in the
// caller's transaction (the catalogue's, which adds the audit row). Workers pick the items up from there.
import { z } from "zod";
import { freeText, singleLine } from "@/lib/validation/text";
import type { DbOrTx, Tx } from "@/lib/db/client";
import { failbackItems, failbackSessions, switchSchedules } from "@/lib/db/schema";
import { AppError, type FieldErrors } from "@/lib/errors";
import { appendEvent } from "@/lib/events/events";
import { preflightItem, withFacts, type PreflightResult } from "./preflight/checks";
import { noFacts, type PreflightFactsSource } from "./preflight/facts";
import { resolveSwitchTime, switchTimeErrorField } from "./switch-time";
import type { EngineActor } from "./types";

const uuid = z.uuid({ message: "must be an id" });

export const startFailbackSchema = z
  .strictObject({
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
              network: singleLine(64).trim().min(1).optional(),
            })
            .optional(),
        }),
      )
      .min(1, "Choose at least one replica.")
      .max(200, "At most 200 replicas per session."),
    quickRollback: z.boolean().default(false),
    switchMode: z.enum(["auto", "scheduled", "manual"]),
    switchAt: z.strictObject({ local: singleLine(32), timeZone: singleLine(64).min(1) }).optional(),
    powerOnAfter: z.boolean().default(true),
    shutdownTimeoutSeconds: z.number().int().min(0).max(86_400).default(900),
    reason: freeText(2000).default(""),
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

export type StartFailbackInput = z.infer<typeof startFailbackSchema>;

export interface StartedFailback {
  sessionId: string;
  itemIds: string[];
  scheduleId: string | null;
  runAt: Date | null;
  preflight: PreflightResult[];
}

export interface CheckedFailback {
  runAt: Date | null;
  preflight: PreflightResult[];
  /** Why it cannot start, by field (items.0.replicaId, switchAt.local, …). */
  fields: FieldErrors;
  /** The first refusal's code, or null when it can start. */
  code: AppError["code"] | null;
}

/**
 * Checks a validated request without starting anything (the wizard's review step, and start itself): first from
 * the database alone; then, for the VMs that pass, with the hypervisor facts `facts` collects (a worker, asked
 * by the web tier) — so a request refused by the database never waits for a worker.
 */
export async function checkFailback(
  db: DbOrTx,
  request: StartFailbackInput,
  facts: PreflightFactsSource,
  now = new Date(),
): Promise<CheckedFailback> {
  const preflight: PreflightResult[] = [];
  for (const [i, item] of request.items.entries()) {
    preflight.push(await preflightItem(db, item, i, request.quickRollback));
  }
  const passing = request.items.flatMap((item, i) => (preflight[i]?.ok ? [{ item, i }] : []));
  if (passing.length > 0) {
    const collected = await facts(passing.map((p) => p.item));
    for (const [n, { i }] of passing.entries()) {
      preflight[i] = withFacts(preflight[i] as PreflightResult, i, request.quickRollback, collected[n] ?? noFacts);
    }
  }
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
  for (const result of preflight) {
    for (const refusal of result.refusals) {
      (fields[refusal.field] ??= []).push(refusal.message);
      code ??= refusal.code;
    }
  }
  return { runAt, preflight, fields, code };
}

/** Refuses a request whose check found a reason, with every field's message. */
export function refuseUnlessStartable(checked: CheckedFailback): void {
  if (!checked.code) return;
  const first = Object.values(checked.fields)[0]?.[0] ?? "The failback cannot start.";
  throw new AppError(checked.code, first, checked.fields);
}

/** Writes the session, its items and schedule, and their events, in the caller's transaction. */
export async function recordFailback(
  tx: Tx,
  actor: EngineActor,
  request: StartFailbackInput,
  checked: CheckedFailback,
): Promise<StartedFailback> {
  try {
    return await insertSession(tx, actor, request, checked);
  } catch (err) {
    // Two starts racing for the same replica: the unique "one live item per replica" index decides.
    const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (code === "23505") throw new AppError("CONFLICT", "A replica of this request is already in a failback session.");
    throw err;
  }
}

async function insertSession(
  tx: Tx,
  actor: EngineActor,
  request: StartFailbackInput,
  { runAt, preflight }: CheckedFailback,
): Promise<StartedFailback> {
  const [session] = await tx
    .insert(failbackSessions)
    .values({
      switchMode: request.switchMode,
      quickRollback: request.quickRollback,
      powerOnAfter: request.powerOnAfter,
      shutdownTimeoutSeconds: request.shutdownTimeoutSeconds,
      reason: request.reason,
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
    const itemId = (row as { id: string }).id;
    itemIds.push(itemId);
    for (const warning of check.warnings) {
      await appendEvent(tx, {
        sessionId: session.id,
        itemId,
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
  return { sessionId: session.id, itemIds, scheduleId, runAt, preflight };
}
