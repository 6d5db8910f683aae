// Input schemas shared by several commands of the catalogue. Each command's schema holds every field it takes —
// the API's path fields too — so the dashboard, the API and the command line validate with the very same one.
import { z } from "zod";
import { singleLine } from "@/lib/validation/text";

/** Forms send "" for "not given"; scripts leave the field out (null is a wrong type, not "absent"). */
const blankIsAbsent = (value: unknown) => (value === "" ? undefined : value);

export const sessionId = z.uuid({ error: "Unknown failback session." });

/** switch-now, commit, undo, cancel, retry: the whole session, or one VM (item) of it. */
export const itemCommandInput = z.strictObject({
  sessionId,
  itemId: z.preprocess(blankIsAbsent, z.uuid({ error: "Must be the id of a VM (item) of this session." }).optional()),
});

export const changeSwitchTimeInput = z.strictObject({
  sessionId,
  local: singleLine(32)
    .trim()
    .min(1, "Choose the new switch time (YYYY-MM-DDTHH:mm).")
    .max(32, "A local date-time, YYYY-MM-DDTHH:mm."),
  timeZone: singleLine(64)
    .trim()
    .min(1, "Choose the time zone (an IANA zone such as Europe/Berlin).")
    .max(64, "An IANA time zone such as Europe/Berlin."),
});

export const sessionOnlyInput = z.strictObject({ sessionId });
