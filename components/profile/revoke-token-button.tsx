"use client";

import { useActionState } from "react";
import { commandAction } from "@/lib/actions/command-action";

const revokeToken = commandAction("revoke-token");
import { Button } from "@/components/ui/button";
import { FormMessage } from "@/components/ui/form-message";

export function RevokeTokenButton({ tokenId, name }: { tokenId: string; name: string }) {
  const [result, formAction, pending] = useActionState(revokeToken, null);
  return (
    <form action={formAction} className="flex flex-col items-start gap-2">
      <input type="hidden" name="tokenId" value={tokenId} />
      <Button type="submit" variant="danger" disabled={pending} aria-label={`Revoke ${name}`}>
        Revoke
      </Button>
      {result && !result.ok ? <FormMessage result={result} /> : null}
    </form>
  );
}
