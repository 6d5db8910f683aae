// failback status [<session>] [--follow [--until STATE] [--after ID] [--timeout SECONDS]]: one session's status
// (or the recent sessions), optionally following its events live until it reaches a state.
import { sessionStates, type SessionDetail, type SessionSummary } from "../api-types";
import { usageError } from "../cli-error";
import { choiceOption, integerOption, sessionPath, type Command } from "../command";
import { followSession } from "../follow";
import { eventLine, sessionStatus, sessionsTable } from "../format";

export const status: Command = {
  name: "status",
  summary: "Show a session (or the recent sessions); --follow prints its events live.",
  help: `failback status [<session>] [--json]
failback status <session> --follow [--until STATE] [--after EVENT-ID] [--timeout SECONDS] [--json]

  --follow           Print the session's events (its history, then live) until it reaches --until,
                     or a final state (committed, undone, cancelled). Exits 5 if it ends elsewhere or
                     needs attention, 1 on --timeout.
  --until STATE      ${sessionStates.join(", ")}
  --after EVENT-ID   Print only events after this id (continue where an earlier follow stopped).
  --json             One JSON document; with --follow one JSON object per line: {"event": …} for each
                     event, then {"session": …} with the final status.`,
  options: {
    follow: { type: "boolean" },
    until: { type: "string" },
    after: { type: "string" },
    timeout: { type: "string" },
  },
  async run({ out, values, positionals, client }) {
    if (positionals.length === 0) {
      if (values.follow) throw usageError("--follow needs a session id: failback status <session> --follow");
      const { sessions } = await client().get<{ sessions: SessionSummary[] }>("/api/v1/sessions?limit=20");
      out.result(sessions, () => sessionsTable(sessions));
      return;
    }
    if (positionals.length > 1) throw usageError("status takes one session id.");
    const sessionId = positionals[0] as string;
    const until = choiceOption(values, "until", sessionStates) ?? null;
    const afterId = integerOption(values, "after", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const timeoutSeconds = integerOption(values, "timeout", 1, 7 * 86_400);
    if (!values.follow) {
      if (until || values.after || timeoutSeconds) throw usageError("--until, --after and --timeout go with --follow.");
      const detail = await client().get<SessionDetail>(sessionPath(sessionId));
      out.result(detail, () => sessionStatus(detail));
      return;
    }
    // VM names for the event lines (a session's items never change).
    const { items } = await client().get<SessionDetail>(sessionPath(sessionId));
    const names = new Map(items.map((i) => [i.id, i.sourceVmName]));
    const detail = await followSession(client(), {
      sessionId,
      until,
      afterId,
      timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : null,
      onEvent: (event) => out.streamed({ event }, () => eventLine(event, (itemId) => names.get(itemId))),
    });
    out.streamed({ session: detail }, () => `\n${sessionStatus(detail)}`);
  },
};
