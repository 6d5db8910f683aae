// Shared by the users page's forms and its server actions.
import { z } from "zod";
import { passwordMinLength } from "@/lib/auth/password";
import { userRoles } from "@/lib/db/schema";
import { singleLine } from "./text";

export const roleSchema = z.enum(userRoles, { error: "Choose admin, operator or viewer." });

export const createUserInput = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(320)
    .pipe(z.email({ error: "Enter a valid email address." })),
  name: singleLine(120).trim().min(1, "Enter a name."),
  role: roleSchema,
  password: singleLine(256).min(passwordMinLength, `At least ${passwordMinLength} characters.`),
});

export const userIdInput = z.uuid({ error: "Unknown user." });

export const changeRoleInput = z.object({ userId: userIdInput, role: roleSchema });

export const setUserDisabledInput = z.object({
  userId: userIdInput,
  disabled: z.enum(["true", "false"], { error: "Say whether to disable or enable." }).transform((v) => v === "true"),
});

export const signInInput = z.object({
  email: singleLine(320).trim().min(1, "Enter your email."),
  password: singleLine(256).min(1, "Enter your password."),
});
