// The dashboard's live feed of one failback session (server-sent events), for the signed-in browser.
// Replays after Last-Event-ID (or ?after= on the first connection), then follows new events; a user disabled
// or stripped of session.read meanwhile has the stream closed within seconds.
import { eq } from "drizzle-orm";
import { currentActor } from "@/lib/auth/actor";
import { can } from "@/lib/auth/permissions";
import { db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { findUserById } from "@/lib/db/queries/users";
import { failbackSessions } from "@/lib/db/schema";
import { lastEventIdOf, sessionEventStream, sseResponse } from "@/lib/events/stream";

export const dynamic = "force-dynamic";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The dashboard reads every event through one `message` listener: EventSource delivers a named event only to a
 * listener for that exact name, so an event type added to the engine later would otherwise vanish unseen. The
 * type stays in each event's data; only the `event:` lines go. Lines are re-assembled across chunks first.
 */
function withoutEventNames(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let partial = "";
  const keep = (line: string) => !line.startsWith("event:");
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = lines.pop() ?? "";
      const kept = lines.filter(keep);
      if (kept.length) controller.enqueue(encoder.encode(`${kept.join("\n")}\n`));
    },
    flush(controller) {
      if (partial && keep(partial)) controller.enqueue(encoder.encode(partial));
    },
  });
}

function refuse(status: number, message: string): Response {
  return Response.json({ error: message }, { status, headers: { "Cache-Control": "no-store" } });
}

export async function GET(request: Request, context: { params: Promise<{ id: string }> }) {
  const actor = await currentActor();
  if (!actor) return refuse(401, "Sign in to continue.");
  const { id } = await context.params;
  if (!can(actor.role, "session.read")) {
    await appendAudit(db(), {
      actorUserId: actor.userId,
      actorLabel: actor.email,
      action: "session.stream",
      outcome: "denied",
      targetType: "failback_session",
      targetId: id.slice(0, 64),
      reason: "missing permission session.read",
      clientIp: actor.clientIp,
      userAgent: actor.userAgent,
    });
    return refuse(403, `Your role (${actor.role}) may not follow failback sessions.`);
  }
  if (!uuidPattern.test(id)) return refuse(404, "No such failback session.");
  const [session] = await db()
    .select({ id: failbackSessions.id })
    .from(failbackSessions)
    .where(eq(failbackSessions.id, id));
  if (!session) return refuse(404, "No such failback session.");

  // Re-checked from the database while the stream is open (the request's cookies are not re-read).
  const { userId } = actor;
  const version = (await findUserById(db(), userId))?.sessionVersion;
  const stillAllowed = async () => {
    const user = await findUserById(db(), userId);
    return Boolean(user && !user.disabledAt && user.sessionVersion === version && can(user.role, "session.read"));
  };
  const events = sessionEventStream({
    sessionId: id,
    afterId: lastEventIdOf(request),
    signal: request.signal,
    stillAllowed,
  });
  return sseResponse(events.pipeThrough(withoutEventNames()));
}
