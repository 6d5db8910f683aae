"use client";

import { Badge } from "@/components/ui/badge";
import { formatBytes } from "@/components/ui/format";
import { useSessionLive } from "./session-live";

/** The verification verdict per disk: production read back against the replica at switch time. */
export function VerificationResult({ itemId }: { itemId: string }) {
  const { state } = useSessionLive();
  const result = state.verification[itemId];
  if (!result) return null;
  const disks = Object.entries(result.disks);
  const allOk = disks.length > 0 && disks.every(([, v]) => v.ok);
  return (
    <section
      aria-label="Verification"
      data-testid="verification"
      data-ok={allOk}
      className="rounded-md p-3 ring-1 ring-slate-200"
    >
      <h4 className="text-sm font-semibold">
        {allOk ? "Verified: production matches the replica at switch time" : "Verification found differences"}
      </h4>
      <ul className="mt-2 space-y-1 text-sm">
        {disks.map(([label, v]) => (
          <li
            key={label}
            className="flex flex-wrap items-center gap-2"
            data-testid="verification-disk"
            data-disk={label}
            data-ok={v.ok}
          >
            <span className="font-mono text-xs">{label}</span>
            <Badge tone={v.ok ? "teal" : "red"}>{v.ok ? "matches" : "differs"}</Badge>
            {v.digest ? (
              <span className="truncate font-mono text-xs text-slate-500" title={v.digest}>
                digest {v.digest.slice(0, 16)}…
              </span>
            ) : null}
            {!v.ok && v.firstMismatch ? (
              <span className="text-xs text-red-800">
                {v.mismatchedRegions} region(s), first at byte {v.firstMismatch.offset} (
                {formatBytes(v.firstMismatch.length)})
              </span>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
