"use server";

import { revalidatePath } from "next/cache";
import { defineAction } from "@/lib/actions/define-action";
import { countActiveAdmins, findUserById, updateUserAccess } from "@/lib/db/queries/users";
import { AppError } from "@/lib/errors";
import { changeRoleInput } from "@/lib/validation/users";

const action = defineAction({
  name: "user.change_role",
  permission: "users.write",
  input: changeRoleInput,
  async run({ input, tx, audit }) {
    const before = await findUserById(tx, input.userId);
    if (!before) throw new AppError("NOT_FOUND", "No such user.");
    if (before.role === "admin" && input.role !== "admin" && !before.disabledAt && (await countActiveAdmins(tx)) <= 1) {
      throw new AppError("CONFLICT", "This is the last active admin; make another admin first.", {
        role: ["The last admin must stay admin."],
      });
    }
    await updateUserAccess(tx, input.userId, { role: input.role });
    audit({
      targetType: "user",
      targetId: input.userId,
      details: { email: before.email, from: before.role, to: input.role },
    });
    return { email: before.email, role: input.role };
  },
  successMessage: (u) => `${u.email} is now ${u.role}.`,
});

export async function changeUserRole(previous: unknown, formData: unknown) {
  const result = await action(previous, formData);
  if (result.ok) revalidatePath("/users");
  return result;
}
