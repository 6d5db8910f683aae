"use server";

import { revalidatePath } from "next/cache";
import { defineAction } from "@/lib/actions/define-action";
import { hashPassword } from "@/lib/auth/password";
import { insertUser } from "@/lib/db/queries/users";
import { AppError } from "@/lib/errors";
import { createUserInput } from "@/lib/validation/users";

const action = defineAction({
  name: "user.create",
  permission: "users.write",
  input: createUserInput,
  async run({ input, tx, audit }) {
    const user = await insertUser(tx, { ...input, passwordHash: await hashPassword(input.password) });
    if (!user) throw new AppError("CONFLICT", "A user with this email exists already.", { email: ["Already in use."] });
    audit({ targetType: "user", targetId: user.id, details: { email: user.email, role: user.role } });
    return { id: user.id, email: user.email };
  },
  successMessage: (u) => `Created ${u.email}.`,
});

export async function createUser(previous: unknown, formData: unknown) {
  const result = await action(previous, formData);
  if (result.ok) revalidatePath("/users");
  return result;
}
