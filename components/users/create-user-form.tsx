"use client";

import { useActionState } from "react";
import { commandAction } from "@/lib/actions/command-action";

const createUser = commandAction("create-user");
import { SelectField, TextField } from "@/components/ui/field";
import { FormMessage } from "@/components/ui/form-message";
import { SubmitButton } from "@/components/ui/submit-button";

export function CreateUserForm() {
  const [result, formAction] = useActionState(createUser, null);
  const errors = result && !result.ok ? result.fieldErrors : undefined;
  return (
    <form
      action={formAction}
      className="grid gap-4 sm:grid-cols-2"
      aria-label="Create user"
      key={result?.ok ? JSON.stringify(result.data) : "form"}
    >
      <TextField label="Email" name="email" type="email" required errors={errors?.email} />
      <TextField label="Name" name="name" required errors={errors?.name} />
      <SelectField label="Role" name="role" defaultValue="viewer" errors={errors?.role}>
        <option value="viewer">Viewer — sees everything, changes nothing</option>
        <option value="operator">Operator — runs failbacks</option>
        <option value="admin">Admin — also manages users and hosts</option>
      </SelectField>
      <TextField
        label="Initial password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={12}
        errors={errors?.password}
      />
      <div className="flex flex-col gap-3 sm:col-span-2 sm:flex-row sm:items-center">
        <SubmitButton pendingText="Creating…">Create user</SubmitButton>
        <FormMessage result={result} />
      </div>
    </form>
  );
}
