"use server";

import { revalidatePath } from "next/cache";
import { defineAction } from "@/lib/actions/define-action";
import { countActiveAdmins, findUserById, updateUserAccess } from "@/lib/db/queries/users";
import { AppError } from "@/lib/errors";
import { setUserDisabledInput } from "@/lib/validation/users";

const action = defineAction({
  name: "user.set_disabled",
  permission: "users.write",
  input: setUserDisabledInput,
  async run({ actor, input, tx, audit }) {
    const before = await findUserById(tx, input.userId);
    if (!before) throw new AppError("NOT_FOUND", "No such user.");
    if (input.disabled && before.id === actor.userId) throw new AppError("CONFLICT", "You cannot disable yourself.");
    if (input.disabled && before.role === "admin" && !before.disabledAt && (await countActiveAdmins(tx)) <= 1) {
      throw new AppError("CONFLICT", "This is the last active admin; make another admin first.");
    }
    await updateUserAccess(tx, input.userId, { disabled: input.disabled });
    audit({ targetType: "user", targetId: input.userId, details: { email: before.email, disabled: input.disabled } });
    return { email: before.email, disabled: input.disabled };
  },
  successMessage: (u) => `${u.email} is ${u.disabled ? "disabled" : "enabled"}.`,
});

export async function setUserDisabled(previous: unknown, formData: unknown) {
  const result = await action(previous, formData);
  if (result.ok) revalidatePath("/users");
  return result;
}
