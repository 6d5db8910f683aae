"use client";

import { useActionState } from "react";
import { commandAction } from "@/lib/actions/command-action";

const createToken = commandAction("create-token");
import { TextField } from "@/components/ui/field";
import { FormMessage } from "@/components/ui/form-message";
import { SubmitButton } from "@/components/ui/submit-button";
import { NewTokenNotice } from "./new-token-notice";

export function CreateTokenForm() {
  const [result, formAction] = useActionState(createToken, null);
  const errors = result && !result.ok ? result.fieldErrors : undefined;
  return (
    <div className="flex flex-col gap-4">
      <form
        action={formAction}
        className="flex flex-col gap-3 sm:flex-row sm:items-end"
        aria-label="Create API token"
        key={result?.ok ? result.data.id : "form"}
      >
        <div className="sm:w-80">
          <TextField
            label="Token name"
            name="name"
            required
            maxLength={64}
            placeholder="nightly runbook on ops-01"
            errors={errors?.name}
          />
        </div>
        <SubmitButton pendingText="Creating…">Create token</SubmitButton>
      </form>
      <FormMessage result={result} />
      {result?.ok ? <NewTokenNotice name={result.data.name} token={result.data.token} /> : null}
    </div>
  );
}
