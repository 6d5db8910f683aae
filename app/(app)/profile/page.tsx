import type { Metadata } from "next";
import { CreateTokenForm } from "@/components/profile/create-token-form";
import { TokenTable } from "@/components/profile/token-table";
import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/page-header";
import { requireActor } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { listTokensOfUser } from "@/lib/db/queries/api-tokens";

export const metadata: Metadata = { title: "Profile" };

export default async function ProfilePage() {
  const actor = await requireActor();
  const tokens = await listTokensOfUser(db(), actor.userId);
  return (
    <>
      <PageHeader
        title="Profile"
        description="Your account, and the API tokens scripts and the command line use to act for you."
      />
      <section
        className="mb-8 rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200"
        aria-labelledby="account-heading"
      >
        <h2 id="account-heading" className="mb-3 text-base font-semibold">
          Account
        </h2>
        <dl className="grid gap-2 text-sm sm:grid-cols-[8rem_1fr]">
          <dt className="text-slate-500">Name</dt>
          <dd>{actor.name}</dd>
          <dt className="text-slate-500">Email</dt>
          <dd>{actor.email}</dd>
          <dt className="text-slate-500">Role</dt>
          <dd>
            <Badge tone="blue">{actor.role}</Badge>
          </dd>
        </dl>
      </section>
      <section className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading" className="text-base font-semibold">
          API tokens
        </h2>
        <p className="mb-4 mt-1 max-w-prose text-sm text-slate-600">
          A token acts as you, with your role as it is at the moment of each request: if your role changes or your
          account is disabled, your tokens follow at once. Revoke a token as soon as the script or machine holding it no
          longer needs it.
        </p>
        <div className="mb-6">
          <CreateTokenForm />
        </div>
        <TokenTable tokens={tokens} />
      </section>
    </>
  );
}
