// Anonymous refusals are aggregated, never dropped: a flood from one client in one minute is one counter row
// with its count; a finished minute becomes one audit row with the counts, and its counter row goes.
import { afterAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { countAnonymousDenial, flushAnonymousDenials } from "./anonymous-denials";

const database = testDatabase();
const { db, sql } = database;
afterAll(() => database.close());

describe("anonymous denials", () => {
  it("count a flood from one client in one minute as one row, by action and reason", async () => {
    const clientIp = `10.77.${Math.floor(Math.random() * 250)}.1`;
    const auditBefore = await sql`select count(*)::int as n from audit_log where client_ip = ${clientIp}`;
    for (let i = 0; i < 300; i++) {
      await countAnonymousDenial(db, {
        clientIp,
        userAgent: "flood",
        action: i % 3 ? "api.me" : "failback.commit",
        reason: "no credentials",
      });
    }
    const rows = await sql`select count, actions from anonymous_denials where client_ip = ${clientIp}`;
    // A minute may turn during the loop: then two rows (and the first already flushed to the audit log).
    const counted = rows.reduce((sum, r) => sum + Number(r.count), 0);
    const audited =
      await sql`select details from audit_log where client_ip = ${clientIp} and action = 'anonymous.denied'`;
    const flushed = audited.reduce((sum, r) => sum + Number((r.details as { count: number }).count), 0);
    expect(counted + flushed).toBe(300);
    expect(rows.length + audited.length).toBeLessThanOrEqual(2);
    const [after] = await sql`select count(*)::int as n from audit_log where client_ip = ${clientIp}`;
    expect(after?.n).toBe((auditBefore[0]?.n ?? 0) + audited.length);
  });

  it("write a finished minute to the audit log as one row with its counts, removing the counter", async () => {
    const clientIp = `10.78.${Math.floor(Math.random() * 250)}.1`;
    await sql`insert into anonymous_denials (client_ip, minute, count, actions, user_agent)
      values (${clientIp}, date_trunc('minute', now()) - interval '2 minutes', 7, ${JSON.stringify({ "api.me: no credentials": 7 })}::jsonb, 'old')`;
    await flushAnonymousDenials(db);
    expect(await sql`select 1 from anonymous_denials where client_ip = ${clientIp}`).toHaveLength(0);
    const [row] = await sql`select actor_label, outcome, reason, details from audit_log
      where client_ip = ${clientIp} and action = 'anonymous.denied'`;
    expect(row).toMatchObject({
      actor_label: "anonymous",
      outcome: "denied",
      reason: "7 anonymous requests refused in the minute",
    });
    expect(row?.details).toMatchObject({ count: 7, refused: { "api.me: no credentials": 7 } });
  });
});
