import { db } from "@/lib/db/client";
import { eventsAfter } from "@/lib/events/events";
import { emptyLiveState, foldEvents, type LiveEvent, type LiveState } from "@/components/sessions/live/live-state";

const BATCH = 1000;

/** Folds every stored event of the session, so the first render already shows what the stream would have. */
export async function loadLiveState(sessionId: string): Promise<LiveState> {
  let state = emptyLiveState;
  for (;;) {
    const batch = await eventsAfter(db(), sessionId, state.lastEventId, BATCH);
    const events: LiveEvent[] = batch.map((e) => ({
      id: e.id,
      itemId: e.itemId,
      type: e.type,
      level: e.level,
      payload: e.payload,
      createdAt: e.createdAt.toISOString(),
    }));
    state = foldEvents(events, state);
    if (batch.length < BATCH) return state;
  }
}
