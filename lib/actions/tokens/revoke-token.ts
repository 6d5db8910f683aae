"use server";

import { revalidatePath } from "next/cache";
import { defineAction } from "@/lib/actions/define-action";
import { revokeTokenOfUser } from "@/lib/db/queries/api-tokens";
import { AppError } from "@/lib/errors";
import { revokeTokenInput } from "./token-inputs";

const action = defineAction({
  name: "token.revoke",
  permission: "profile.write",
  input: revokeTokenInput,
  async run({ actor, input, tx, audit }) {
    // Scoped to the signed-in user: another user's token id is "not found", never revoked.
    const token = await revokeTokenOfUser(tx, actor.userId, input.tokenId);
    if (!token) throw new AppError("NOT_FOUND", "You have no live token with this id.");
    audit({ targetType: "api_token", targetId: token.id, details: { name: token.name, prefix: token.prefix } });
    return { name: token.name };
  },
  successMessage: (t) => `Revoked the token “${t.name}”: it no longer works.`,
});

export async function revokeToken(previous: unknown, formData: unknown) {
  const result = await action(previous, formData);
  if (result.ok) revalidatePath("/profile");
  return result;
}
