// Carrying out a command of the catalogue, the same way whichever surface received it: validate (typed field
// errors) → prepare (what must be known before the transaction, e.g. a worker's pre-flight facts) → run and
// write its audit row in one transaction → hand the workers their work. Authentication and the permission
// check (a denial audited under the same action) happen before this, in each surface's one wrapper.
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { AppError, validate } from "@/lib/errors";
import {
  targetNamedBy,
  type AnyCommand,
  type AuditNote,
  type CommandActor,
  type CommandServices,
  type CommandVia,
  type Nudge,
  type Nudger,
} from "./define";

export interface ExecuteOptions {
  db: Db;
  actor: CommandActor;
  via: CommandVia;
  services: CommandServices;
  nudger: Nudger;
}

export async function executeCommand<R>(
  command: AnyCommand,
  raw: unknown,
  options: ExecuteOptions,
): Promise<{ result: R; input: unknown }> {
  try {
    return await carryOut<R>(command, raw, options);
  } catch (err) {
    // A refusal (not found, not allowed for this caller, wrong state, conflict) changed nothing — its
    // transaction rolled back — so it is recorded here, apart. Invalid input is answered, not audited.
    if (err instanceof AppError && err.code !== "VALIDATION") await auditRefusal(command, raw, options, err);
    throw err;
  }
}

/** What every audit row of a command says: its action, who asked and from where. */
function auditedAs(command: AnyCommand, actor: CommandActor) {
  return {
    actorUserId: actor.userId,
    actorLabel: actor.label,
    action: command.audit,
    clientIp: actor.clientIp ?? null,
    userAgent: actor.userAgent ?? null,
  };
}

async function auditRefusal(command: AnyCommand, raw: unknown, { db, actor, via }: ExecuteOptions, err: AppError) {
  await appendAudit(db, {
    ...auditedAs(command, actor),
    outcome: "denied",
    ...targetNamedBy(command.target, raw),
    reason: `${err.code}: ${err.message}`.slice(0, 500),
    details: { via },
  });
}

async function carryOut<R>(
  command: AnyCommand,
  raw: unknown,
  options: ExecuteOptions,
): Promise<{ result: R; input: unknown }> {
  const { db, actor, via } = options;
  const input = validate(command.input, raw);
  const prepared = command.prepare
    ? await command.prepare({ db, actor, input, services: options.services })
    : undefined;
  const work: Nudge = {};
  const result = await db.transaction(async (tx) => {
    const note: AuditNote = {};
    const value = await command.run({
      tx,
      actor,
      input,
      prepared,
      audit: (n) => Object.assign(note, n),
      nudge: (n) => Object.assign(work, n),
    });
    await appendAudit(tx, {
      ...auditedAs(command, actor),
      outcome: "ok",
      targetType: note.targetType ?? null,
      targetId: note.targetId ?? null,
      reason: note.reason ?? null,
      details: { via, ...note.details },
    });
    return value as R;
  });
  // Best effort: the rows are committed, and the workers' sweep finds anything a lost nudge did not announce.
  await options.nudger.nudge(work).catch(() => {});
  return { result, input };
}
