"use server";

import { AuthError } from "next-auth";
import { signIn } from "@/lib/auth/auth";
import { safeNext } from "@/lib/auth/safe-next";
import { inputToObject } from "@/lib/actions/form-input";
import { fieldErrorsOf } from "@/lib/errors";
import type { ActionResult } from "@/lib/errors";
import { signInInput } from "@/lib/validation/users";

// Sign-in is the one action open to anonymous callers; throttling and auditing live in checkCredentials.
export async function signInWithPassword(_previous: unknown, formData: unknown): Promise<ActionResult> {
  const parsed = signInInput.safeParse(inputToObject(formData));
  if (!parsed.success) {
    return {
      ok: false,
      code: "VALIDATION",
      message: "Enter your email and password.",
      fieldErrors: fieldErrorsOf(parsed.error),
    };
  }
  // The form's `next` came from a link anyone could have written: only a path of this site is followed.
  const next = safeNext(inputToObject(formData).next);
  try {
    await signIn("credentials", { ...parsed.data, redirectTo: next });
  } catch (err) {
    if (err instanceof AuthError) {
      const throttled = (err as AuthError & { code?: string }).code === "throttled";
      return throttled
        ? { ok: false, code: "THROTTLED", message: "Too many sign-in attempts. Wait a few minutes and try again." }
        : { ok: false, code: "UNAUTHENTICATED", message: "Email or password is incorrect." };
    }
    throw err; // signIn redirects by throwing; let Next handle it.
  }
  return { ok: true, data: undefined };
}
