"use server";

import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import { engine, engineActorOf } from "@/lib/server/engine-instance";
import { engineCall } from "./engine-call";
import { revalidateSessionPages } from "./revalidate";

const input = z.object({
  sessionId: z.uuid({ error: "Unknown failback session." }),
  /** As a datetime-local input gives it: YYYY-MM-DDTHH:mm, in `timeZone`. */
  local: z.string().trim().min(1, "Choose the new switch time.").max(32),
  timeZone: z.string().trim().min(1, "Choose the time zone.").max(64),
});

/** "2030-01-02 03:04[:05] UTC" from an ISO instant (seconds only when there are any). */
function utcWords(iso: string): string {
  return `${iso.slice(0, iso.slice(17, 19) === "00" ? 16 : 19).replace("T", " ")} UTC`;
}

const action = defineAction({
  name: "failback.schedule.change.request",
  permission: "schedule.write",
  input,
  async run({ actor, input, audit }) {
    // The engine resolves the local time in the zone (refusing past, skipped or repeated times by field).
    const result = await engineCall(() =>
      engine().changeSwitchTime(engineActorOf(actor), input.sessionId, input.local, input.timeZone),
    );
    audit({
      targetType: "failback_session",
      targetId: input.sessionId,
      details: {
        via: "dashboard",
        local: input.local,
        timeZone: input.timeZone,
        runAt: result.schedule?.runAt.toISOString() ?? null,
      },
    });
    return { sessionId: result.sessionId, runAt: result.schedule?.runAt.toISOString() ?? null };
  },
  successMessage: (data) => (data.runAt ? `Switch time changed to ${utcWords(data.runAt)}.` : "Switch time changed."),
});

export async function changeSwitchTime(previous: unknown, raw: unknown) {
  const result = await action(previous, raw);
  if (result.ok) revalidateSessionPages(result.data.sessionId);
  return result;
}
