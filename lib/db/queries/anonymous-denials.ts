// Refusals of anonymous requests, aggregated: one counter row per client address and minute (how many, and of
// which actions with which reasons); a finished minute becomes one audit row with its counts, moved in one
// statement so no refusal is counted twice or lost. A flood of anonymous requests thus adds at most one audit
// row per client and minute, and the audit log stays append-only.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { withoutControlCharacters } from "@/lib/validation/text";

export interface AnonymousDenial {
  clientIp: string;
  userAgent: string | null;
  /** The audit action refused (`api.me`, `failback.commit`, …). */
  action: string;
  reason: string;
}

const clean = (text: string, max: number) => withoutControlCharacters(text).slice(0, max);

export async function countAnonymousDenial(db: DbOrTx, denial: AnonymousDenial): Promise<void> {
  const key = `${clean(denial.action, 100)}: ${clean(denial.reason, 200)}`;
  await db.execute(sql`
    insert into anonymous_denials (client_ip, minute, count, actions, user_agent)
    values (${clean(denial.clientIp, 100)}, date_trunc('minute', now()), 1, jsonb_build_object(${key}::text, 1),
            ${denial.userAgent ? clean(denial.userAgent, 300) : null})
    on conflict (client_ip, minute) do update set
      count = anonymous_denials.count + 1,
      actions = anonymous_denials.actions
        || jsonb_build_object(${key}::text, coalesce((anonymous_denials.actions ->> ${key}::text)::int, 0) + 1)`);
  await flushAnonymousDenials(db);
}

/** Writes every finished minute's counts to the audit log (one row per client and minute) and clears them. */
export async function flushAnonymousDenials(db: DbOrTx): Promise<void> {
  await db.execute(sql`
    with finished as (
      delete from anonymous_denials where minute < date_trunc('minute', now()) returning *
    )
    insert into audit_log (at, actor_label, action, outcome, reason, client_ip, user_agent, details)
    select minute + interval '1 minute', 'anonymous', 'anonymous.denied', 'denied',
           count || ' anonymous request' || case when count = 1 then '' else 's' end || ' refused in the minute',
           client_ip, user_agent, jsonb_build_object('minute', minute, 'count', count, 'refused', actions)
    from finished`);
}
