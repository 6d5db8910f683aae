// Events: every step start/progress/finish, state change, warning and error of a failback is a row, written
// in the same transaction as the change it describes, plus a NOTIFY on commit. The rows are the truth; the
// NOTIFY only wakes listeners, which then re-read rows after the last id they have (Last-Event-ID replay).
// What may be written, and what each payload holds, is the catalogue's (catalog.ts).
import { and, asc, eq, gt, inArray, like, or, sql } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { events, type Event } from "@/lib/db/schema";
import {
  catalogueTypes,
  defaultLevelOf,
  narrowEvent,
  testEventPrefix,
  type EventLevel,
  type FailbackEvent,
} from "./catalog";

/** The channel that carries a session id whenever that session has new events. */
export const eventsChannel = "failback_events";

export type { EventLevel };

/** An event to write: one of the catalogue's, with its payload; the level defaults to the catalogue's. */
export type NewEvent = FailbackEvent & {
  sessionId: string;
  itemId?: string | null;
  level?: EventLevel;
};

/** A stored event: the row, its type and payload typed by the catalogue. */
export type StoredEvent = Omit<Event, "type" | "payload"> & FailbackEvent;

export async function appendEvent(tx: DbOrTx, event: NewEvent): Promise<number> {
  // One writer of a session's events at a time, until its transaction ends: ids are then handed out in commit
  // order within a session, so a reader that resumes after the highest id it saw never skips an event that
  // committed late with a lower id.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${event.sessionId}, 0))`);
  const [row] = await tx
    .insert(events)
    .values({
      sessionId: event.sessionId,
      itemId: event.itemId ?? null,
      type: event.type,
      level: event.level ?? defaultLevelOf(event.type),
      payload: event.payload,
    })
    .returning({ id: events.id });
  // Delivered when the transaction commits, never for a rolled-back change.
  await tx.execute(sql`select pg_notify(${eventsChannel}, ${event.sessionId})`);
  return (row as { id: number }).id;
}

export async function eventsAfter(db: DbOrTx, sessionId: string, afterId = 0, limit = 500): Promise<StoredEvent[]> {
  const rows = await db
    .select()
    .from(events)
    .where(
      and(
        eq(events.sessionId, sessionId),
        gt(events.id, afterId),
        // Only the catalogue's types (appendEvent writes no others), filtered here rather than after the query so
        // that a page still holds `limit` events whenever more exist: readers page on that.
        or(inArray(events.type, catalogueTypes), like(events.type, `${testEventPrefix}%`)),
      ),
    )
    .orderBy(asc(events.id))
    .limit(limit);
  return rows.flatMap((row) => narrowEvent(row) ?? []);
}
