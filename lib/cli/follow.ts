// Following a session live: its events from the SSE endpoint (resuming after the last id seen whenever the
// stream drops), until the session reaches the state asked for — or a final state, or needs_attention, which
// end the wait with a typed error so a script does not hang on a failback that went elsewhere. A session that is
// there already still has its history printed (from the JSON pages), as `--follow` promises.
import { narrowEvent } from "@/lib/events/catalog";
import type { ApiClient } from "./api-client";
import { finalStates, type SessionDetail, type SessionEvent } from "./api-types";
import { CliError } from "./cli-error";
import { readServerSentEvents } from "./sse";

export interface FollowOptions {
  sessionId: string;
  /** Stop when the session is in this state; by default, when it is in a final state. */
  until: string | null;
  /** Print events after this id (0: the whole history, then live). */
  afterId: number;
  timeoutMs: number | null;
  onEvent: (event: SessionEvent) => void;
  /** How often the state is re-read besides the events that announce it (a safety net). */
  pollMs?: number;
}

type Verdict = "reached" | "waiting" | CliError;

function verdictOf(detail: SessionDetail, until: string | null): Verdict {
  const state = detail.session.state;
  const targets: readonly string[] = until ? [until] : finalStates;
  if (targets.includes(state)) return "reached";
  if ((finalStates as readonly string[]).includes(state))
    return new CliError("INVALID_STATE", `The session ended ${state} without reaching ${until}.`);
  if (state === "needs_attention") {
    const why = detail.items.find((i) => i.attentionReason)?.attentionReason;
    return new CliError(
      "INVALID_STATE",
      `The session needs attention${why ? `: ${why}` : ""}. Retry, undo or cancel it.`,
    );
  }
  return "waiting";
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

const HISTORY_PAGE = 500;

/** Prints every stored event after afterId, page by page (no waiting for live ones). */
async function printHistory(
  client: ApiClient,
  path: string,
  afterId: number,
  onEvent: (event: SessionEvent) => void,
): Promise<void> {
  let after = afterId;
  for (;;) {
    const page = await client.get<{ events: SessionEvent[]; nextAfter: number; more: boolean }>(
      `${path}/events?format=json&after=${after}&limit=${HISTORY_PAGE}`,
    );
    for (const event of page.events) onEvent(event);
    if (!page.more || page.nextAfter <= after) return;
    after = page.nextAfter;
  }
}

export async function followSession(client: ApiClient, options: FollowOptions): Promise<SessionDetail> {
  const path = `/api/v1/sessions/${encodeURIComponent(options.sessionId)}`;
  const first = await client.get<SessionDetail>(path);
  const initial = verdictOf(first, options.until);
  if (initial !== "waiting") {
    // Already there (or gone elsewhere): the history up to now, then the outcome.
    await printHistory(client, path, options.afterId, options.onEvent);
    if (initial instanceof CliError) throw initial;
    return first;
  }

  const controller = new AbortController();
  let outcome: { detail: SessionDetail } | { error: Error } | null = null;
  const settle = (result: { detail: SessionDetail } | { error: Error }) => {
    outcome ??= result;
    controller.abort();
  };
  const refresh = async () => {
    try {
      const detail = await client.get<SessionDetail>(path);
      const verdict = verdictOf(detail, options.until);
      if (verdict === "reached") settle({ detail });
      else if (verdict instanceof CliError) settle({ error: verdict });
    } catch (err) {
      // A network blip is retried by the next poll; a refusal (token revoked, session gone) ends the wait.
      if (!(err instanceof CliError) || err.code !== "NETWORK") settle({ error: err as Error });
    }
  };
  const poll = setInterval(() => void refresh(), options.pollMs ?? 5000);
  const timeoutMs = options.timeoutMs;
  const timeout = timeoutMs
    ? setTimeout(
        () =>
          settle({
            error: new CliError(
              "TIMEOUT",
              `The session did not reach ${options.until ?? "a final state"} within ${timeoutMs / 1000} s.`,
            ),
          }),
        timeoutMs,
      )
    : null;

  let lastId = options.afterId;
  // Announcements worth re-reading the session for at once (the poll catches everything else).
  const decisive = new Set<string>([...(options.until ? [options.until] : []), ...finalStates, "needs_attention"]);
  try {
    while (!outcome) {
      try {
        const body = await client.openEventStream(options.sessionId, lastId, controller.signal);
        for await (const message of readServerSentEvents(body)) {
          let event: SessionEvent;
          try {
            event = JSON.parse(message.data) as SessionEvent;
          } catch {
            continue;
          }
          if (event.id <= lastId) continue;
          lastId = event.id;
          options.onEvent(event);
          const known = narrowEvent(event);
          if (known?.type === "session.state" && decisive.has(known.payload.to)) await refresh();
          if (outcome) break;
        }
      } catch (err) {
        if (outcome) break;
        // 401/403/404 will not get better by reconnecting; a dropped connection will.
        if (err instanceof CliError && err.code !== "NETWORK") throw err;
      }
      if (outcome) break;
      // The stream ended (server restart, a proxy's idle timeout): see where things stand, then resume.
      await refresh();
      if (!outcome) await sleep(1000, controller.signal);
    }
  } finally {
    clearInterval(poll);
    if (timeout) clearTimeout(timeout);
    controller.abort();
  }
  const result = outcome as { detail: SessionDetail } | { error: Error };
  if ("error" in result) throw result.error;
  return result.detail;
}
