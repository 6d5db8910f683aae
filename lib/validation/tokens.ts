// Shared by the profile page's token forms and their server actions.
import { z } from "zod";
import { singleLine } from "./text";

/** A user may hold this many live tokens: enough for every script and machine, few enough to review. */
export const maxLiveTokensPerUser = 20;

export const createTokenInput = z.object({
  name: singleLine(64)
    .trim()
    .min(1, "Name the token after where it will be used (a script, a machine).")
    .max(64, "At most 64 characters."),
});

export const revokeTokenInput = z.object({
  tokenId: z.uuid({ error: "Unknown token." }),
});
