// Server-sent events of one failback session. A stream first replays every event after the client's last id
// (Last-Event-ID on reconnect, so a reload or a dropped connection misses nothing), then follows new rows as
// the engine's NOTIFY announces them — re-reading rows, never trusting the notification's content.
import postgres from "postgres";
import { config } from "@/lib/config";
import { db } from "@/lib/db/client";
import { eventsAfter, eventsChannel, type StoredEvent } from "./events";

export interface SessionStreamOptions {
  sessionId: string;
  /** Replay starts after this event id (0: from the beginning). */
  afterId: number;
  /** The request's signal: the client went away. */
  signal: AbortSignal;
  /** Checked every few seconds: a user disabled or downgraded meanwhile has the stream closed. */
  stillAllowed?: () => Promise<boolean>;
}

const encoder = new TextEncoder();
const HEARTBEAT_MS = 15_000;
const RECHECK_MS = 5_000;

/** One listening connection per process, shared by every open stream. */
const holder = globalThis as unknown as { failbackEventListener?: Promise<EventFanout> };

class EventFanout {
  private readonly listeners = new Map<string, Set<() => void>>();
  /** How many announcements (of any session) this process has heard; a shared read is keyed by it (see read). */
  private heard = 0;
  private readonly reads = new Map<string, Promise<StoredEvent[]>>();
  constructor(readonly sql: postgres.Sql) {}
  on(sessionId: string, wake: () => void): () => void {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0 && this.listeners.get(sessionId) === set) this.listeners.delete(sessionId);
    };
  }
  notify(sessionId: string): void {
    this.heard += 1;
    for (const wake of this.listeners.get(sessionId) ?? []) wake();
  }
  /**
   * The rows after afterId. A hundred viewers of a session all wake on each announcement at the same place, so
   * they share one query instead of sending a hundred (the wake-ups run in one go, so they agree on the count).
   * A stream joins only a query started since the latest announcement heard: that query began after the
   * announced rows committed, so it returns them too.
   */
  read(sessionId: string, afterId: number, limit: number): Promise<StoredEvent[]> {
    const key = `${sessionId}|${afterId}|${limit}|${this.heard}`;
    let read = this.reads.get(key);
    if (!read) {
      read = eventsAfter(db(), sessionId, afterId, limit).finally(() => this.reads.delete(key));
      this.reads.set(key, read);
    }
    return read;
  }
}

function fanout(): Promise<EventFanout> {
  holder.failbackEventListener ??= (async () => {
    const url = config().databaseUrl;
    if (!url) throw new Error("DATABASE_URL is not set");
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const hub = new EventFanout(sql);
    await sql.listen(eventsChannel, (sessionId) => hub.notify(sessionId));
    return hub;
  })().catch((err) => {
    holder.failbackEventListener = undefined;
    throw err;
  });
  return holder.failbackEventListener;
}

export function formatEvent(event: StoredEvent): string {
  const data = JSON.stringify({
    id: event.id,
    sessionId: event.sessionId,
    itemId: event.itemId,
    type: event.type,
    level: event.level,
    payload: event.payload,
    createdAt: event.createdAt,
  });
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${data}\n\n`;
}

export function sessionEventStream(options: SessionStreamOptions): ReadableStream<Uint8Array> {
  let lastId = options.afterId;
  let closed = false;
  let cleanup: () => void = () => {};
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const hub = await fanout();
      let reading = false;
      let again = false;
      const close = () => {
        if (closed) return;
        closed = true;
        cleanup();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      // Reads every row after lastId; a wake-up during a read triggers one more read, so nothing is missed.
      const pump = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            for (;;) {
              const batch = await hub.read(options.sessionId, lastId, 500);
              if (closed) return;
              for (const event of batch) {
                controller.enqueue(encoder.encode(formatEvent(event)));
                lastId = event.id;
              }
              if (batch.length < 500) break;
            }
          } while (again && !closed);
        } catch {
          close();
        } finally {
          reading = false;
        }
      };
      const off = hub.on(options.sessionId, () => void pump());
      const heartbeat = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(": keep-alive\n\n"));
      }, HEARTBEAT_MS);
      const recheck = setInterval(async () => {
        if (options.stillAllowed && !(await options.stillAllowed().catch(() => false))) close();
        else void pump(); // also covers a NOTIFY lost while the listener reconnected
      }, RECHECK_MS);
      cleanup = () => {
        off();
        clearInterval(heartbeat);
        clearInterval(recheck);
      };
      options.signal.addEventListener("abort", close, { once: true });
      controller.enqueue(encoder.encode("retry: 2000\n\n"));
      await pump();
    },
    cancel() {
      closed = true;
      cleanup();
    },
  });
}

export function sseResponse(stream: ReadableStream<Uint8Array>): Response {
  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}

/** The id to replay after: the Last-Event-ID header (browser reconnects) or `?after=` (first connection). */
export function lastEventIdOf(request: Request): number {
  const header = request.headers.get("last-event-id");
  const query = new URL(request.url).searchParams.get("after");
  const value = Number(header ?? query ?? 0);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}
