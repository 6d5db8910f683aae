import type { ApiTokenListing } from "@/lib/db/queries/api-tokens";
import { Badge } from "@/components/ui/badge";
import { EmptyState } from "@/components/ui/empty-state";
import { Time } from "@/components/ui/time";
import { RevokeTokenButton } from "./revoke-token-button";

export function TokenTable({ tokens }: { tokens: ApiTokenListing[] }) {
  if (tokens.length === 0) {
    return (
      <EmptyState title="No API tokens yet">Create one for each script or machine that should act for you.</EmptyState>
    );
  }
  return (
    <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      <table className="min-w-full divide-y divide-slate-200 text-sm">
        <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
          <tr>
            <th scope="col" className="px-4 py-3">
              Token
            </th>
            <th scope="col" className="px-4 py-3">
              Created
            </th>
            <th scope="col" className="px-4 py-3">
              Last used
            </th>
            <th scope="col" className="px-4 py-3">
              Status
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {tokens.map((t) => (
            <tr key={t.id} data-testid="token-row" data-name={t.name}>
              <td className="px-4 py-3">
                <div className="font-medium">{t.name}</div>
                <div className="font-mono text-xs text-slate-500">{t.prefix}…</div>
              </td>
              <td className="px-4 py-3 text-slate-600">
                <Time value={t.createdAt} />
              </td>
              <td className="px-4 py-3 text-slate-600">
                <Time value={t.lastUsedAt} />
              </td>
              <td className="px-4 py-3">
                {t.revokedAt ? <Badge tone="red">revoked</Badge> : <RevokeTokenButton tokenId={t.id} name={t.name} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
