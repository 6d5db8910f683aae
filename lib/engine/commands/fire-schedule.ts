// The switch time came: the worker fires the schedule (a schedule job, or its sweep found it due). Not an
// operator command: the engine does it, exactly once, and audits it as the engine.
import { and, eq } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { failbackItems, switchSchedules } from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import type { CommandResult } from "./item-commands";
import { waitingToSwitch } from "../legality";
import { requestSwitch } from "./locking";

/**
 * The switch time came (a schedule job, or the sweep found it due): exactly once, by compare-and-set on the
 * schedule's state. Items still in phase 1 switch as soon as it ends.
 */
export async function fireSchedule(db: Db, scheduleId: string): Promise<CommandResult | null> {
  return db
    .transaction(async (tx) => {
      // Items first, then the schedule: the order every command takes (no circular waits).
      const [target] = await tx
        .select({ sessionId: switchSchedules.sessionId })
        .from(switchSchedules)
        .where(eq(switchSchedules.id, scheduleId));
      if (!target) return null;
      const items = await tx
        .select()
        .from(failbackItems)
        .where(eq(failbackItems.sessionId, target.sessionId))
        .orderBy(failbackItems.id)
        .for("update");
      const [started] = await tx
        .update(switchSchedules)
        .set({ state: "started", updatedAt: new Date() })
        .where(and(eq(switchSchedules.id, scheduleId), eq(switchSchedules.state, "pending")))
        .returning();
      if (!started) return null;
      if (started.runAt.getTime() > Date.now() + 500) {
        // Not yet (an old job after the time was moved later): undo the claim by rolling back.
        throw new NotDueYet();
      }
      const sessionId = started.sessionId;
      const targets = items.filter((i) => waitingToSwitch(i) && !i.cancelRequested);
      await requestSwitch(
        tx,
        targets.map((i) => i.id),
      );
      await appendEvent(tx, {
        sessionId,
        type: "schedule.started",
        payload: { runAt: started.runAt.toISOString(), timeZone: started.timeZone, items: targets.length },
      });
      await appendAudit(tx, {
        actorLabel: "engine",
        action: "failback.schedule.fire",
        outcome: "ok",
        targetType: "failback_session",
        targetId: sessionId,
        details: { scheduleId, runAt: started.runAt.toISOString() },
      });
      return { sessionId, itemIds: targets.map((i) => i.id), message: "Scheduled switch started." };
    })
    .catch((err) => {
      if (err instanceof NotDueYet) return null;
      throw err;
    });
}

class NotDueYet extends Error {}
