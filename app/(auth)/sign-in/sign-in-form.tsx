"use client";

import { useActionState } from "react";
import { signInWithPassword } from "@/lib/actions/auth/sign-in";
import { safeNext } from "@/lib/auth/safe-next";
import { TextField } from "@/components/ui/field";
import { FormMessage } from "@/components/ui/form-message";
import { SubmitButton } from "@/components/ui/submit-button";

export function SignInForm({ next }: { next: string }) {
  const [result, formAction] = useActionState(signInWithPassword, null);
  const errors = result && !result.ok ? result.fieldErrors : undefined;
  return (
    <form action={formAction} className="space-y-4">
      <input type="hidden" name="next" value={safeNext(next)} />
      <TextField label="Email" name="email" type="email" autoComplete="username" required errors={errors?.email} />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        errors={errors?.password}
      />
      <FormMessage result={result} />
      <SubmitButton pendingText="Signing in…">Sign in</SubmitButton>
    </form>
  );
}
