import type { Metadata } from "next";
import { CreateUserForm } from "@/components/users/create-user-form";
import { UserRowActions } from "@/components/users/user-row-actions";
import { Badge } from "@/components/ui/badge";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { Time } from "@/components/ui/time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { listUsers } from "@/lib/db/queries/users";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const { allowed } = await actorWithPermission("users.write", "users");
  if (!allowed) return <NotPermitted what="user management" />;
  const users = await listUsers(db());
  return (
    <>
      <PageHeader
        title="Users"
        description="Who may sign in, and what each role may do. Changes apply on the user's next request."
      />
      <section className="mb-8 rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">
        <h2 className="mb-4 text-base font-semibold">Add a user</h2>
        <CreateUserForm />
      </section>
      <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
        <table className="min-w-full divide-y divide-slate-200 text-sm">
          <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
            <tr>
              <th scope="col" className="px-4 py-3">
                User
              </th>
              <th scope="col" className="px-4 py-3">
                Role
              </th>
              <th scope="col" className="px-4 py-3">
                Last sign-in
              </th>
              <th scope="col" className="px-4 py-3">
                Actions
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {users.map((u) => (
              <tr key={u.id} data-testid="user-row" data-email={u.email}>
                <td className="px-4 py-3">
                  <div className="font-medium">{u.name}</div>
                  <div className="text-xs text-slate-500">{u.email}</div>
                </td>
                <td className="px-4 py-3">
                  <Badge tone="blue">{u.role}</Badge> {u.disabledAt ? <Badge tone="red">disabled</Badge> : null}
                </td>
                <td className="px-4 py-3 text-slate-600">
                  <Time value={u.lastSignInAt} />
                </td>
                <td className="px-4 py-3">
                  <UserRowActions userId={u.id} email={u.email} role={u.role} disabled={Boolean(u.disabledAt)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
