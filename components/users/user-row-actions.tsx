"use client";

import { useActionState } from "react";
import { commandAction } from "@/lib/actions/command-action";
import type { UserRole } from "@/lib/db/schema";
import { Button } from "@/components/ui/button";
import { FormMessage } from "@/components/ui/form-message";

const changeUserRole = commandAction("change-user-role");
const setUserDisabled = commandAction("set-user-disabled");

export function UserRowActions({
  userId,
  email,
  role,
  disabled,
}: {
  userId: string;
  email: string;
  role: UserRole;
  disabled: boolean;
}) {
  const [roleResult, roleAction, rolePending] = useActionState(changeUserRole, null);
  const [disableResult, disableAction, disablePending] = useActionState(setUserDisabled, null);
  const failure = [roleResult, disableResult].find((r) => r && !r.ok);
  return (
    <div className="flex flex-col gap-2">
      <div className="flex flex-wrap items-center gap-2">
        <form action={roleAction} className="flex items-center gap-2">
          <input type="hidden" name="userId" value={userId} />
          <label className="sr-only" htmlFor={`role-${userId}`}>
            Role of {email}
          </label>
          <select
            id={`role-${userId}`}
            name="role"
            defaultValue={role}
            className="rounded-md border-0 py-1.5 pl-2 pr-8 text-sm ring-1 ring-inset ring-slate-300"
          >
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
          <Button type="submit" variant="secondary" disabled={rolePending}>
            Change role
          </Button>
        </form>
        <form action={disableAction}>
          <input type="hidden" name="userId" value={userId} />
          <input type="hidden" name="disabled" value={disabled ? "false" : "true"} />
          <Button type="submit" variant={disabled ? "secondary" : "danger"} disabled={disablePending}>
            {disabled ? "Enable" : "Disable"}
          </Button>
        </form>
      </div>
      {failure ? <FormMessage result={failure} /> : null}
    </div>
  );
}
