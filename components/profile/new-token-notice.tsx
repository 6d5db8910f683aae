"use client";

import { useState } from "react";
import { Button } from "@/components/ui/button";

/** The one and only showing of a new token's secret (the server keeps only its hash). */
export function NewTokenNotice({ name, token }: { name: string; token: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(token).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <div role="region" aria-label="New API token" className="rounded-md border border-amber-300 bg-amber-50 p-4">
      <p className="text-sm font-medium text-amber-900">Copy the token “{name}” now: it is shown only this once.</p>
      <div className="mt-2 flex flex-col gap-2 sm:flex-row sm:items-center">
        <code
          data-testid="new-token"
          className="block select-all break-all rounded bg-white px-3 py-2 font-mono text-sm text-slate-900 ring-1 ring-amber-200"
        >
          {token}
        </code>
        <Button type="button" variant="secondary" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </Button>
      </div>
      <p className="mt-2 text-xs text-amber-900">
        Use it as <code>Authorization: Bearer …</code>, or with the command line:{" "}
        <code>npm run failback -- login --server URL --token …</code>
      </p>
    </div>
  );
}
