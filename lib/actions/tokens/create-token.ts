"use server";

import { revalidatePath } from "next/cache";
import { defineAction } from "@/lib/actions/define-action";
import { newTokenSecret } from "@/lib/api/token-secret";
import { countLiveTokensOfUser, insertApiToken } from "@/lib/db/queries/api-tokens";
import { AppError } from "@/lib/errors";
import { createTokenInput, maxLiveTokensPerUser } from "./token-inputs";

const action = defineAction({
  name: "token.create",
  permission: "profile.write",
  input: createTokenInput,
  async run({ actor, input, tx, audit }) {
    if ((await countLiveTokensOfUser(tx, actor.userId)) >= maxLiveTokensPerUser) {
      throw new AppError(
        "CONFLICT",
        `You have ${maxLiveTokensPerUser} live tokens already; revoke one you no longer use.`,
      );
    }
    const secret = newTokenSecret();
    const token = await insertApiToken(tx, {
      userId: actor.userId,
      name: input.name,
      prefix: secret.prefix,
      secretHash: secret.secretHash,
    });
    audit({ targetType: "api_token", targetId: token.id, details: { name: token.name, prefix: token.prefix } });
    // The only time the secret leaves the server: only its hash was stored.
    return { id: token.id, name: token.name, prefix: token.prefix, token: secret.token };
  },
  successMessage: (t) => `Created the token “${t.name}”.`,
});

export async function createToken(previous: unknown, formData: unknown) {
  const result = await action(previous, formData);
  if (result.ok) revalidatePath("/profile");
  return result;
}
