import { afterAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { applyMigrations } from "./migrate";

const database = testDatabase();
const { sql } = database;
afterAll(() => database.close());

describe("migrations on real PostgreSQL", () => {
  it("create every table the product needs", async () => {
    const rows = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    const tables = rows.map((r) => r.table_name);
    for (const table of [
      "users",
      "sign_in_attempts",
      "sites",
      "hosts",
      "vms",
      "disks",
      "replicas",
      "restore_points",
      "failback_sessions",
      "failback_items",
      "failback_steps",
      "switch_schedules",
      "events",
      "audit_log",
    ]) {
      expect(tables).toContain(table);
    }
  });

  it("are recorded and a second run applies nothing new", async () => {
    const before = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await applyMigrations(inject("databaseUrl"));
    const after = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(after[0]?.n).toBe(before[0]?.n);
    expect(before[0]?.n).toBeGreaterThanOrEqual(2);
  });

  it("keep replica states to the closed set of the behaviour page", async () => {
    const rows = await sql<{ v: string }[]>`select unnest(enum_range(null::replica_state))::text as v`;
    expect(rows.map((r) => r.v)).toEqual(["ready", "failover", "ready_to_switch", "failback"]);
  });
});

describe("audit log is append-only", () => {
  it("accepts inserts", async () => {
    const [row] =
      await sql`insert into audit_log (actor_label, action, outcome) values ('test', 'test.insert', 'ok') returning id`;
    expect(Number(row?.id)).toBeGreaterThan(0);
  });

  it("refuses UPDATE, DELETE and TRUNCATE, even for the table owner", async () => {
    const [row] =
      await sql`insert into audit_log (actor_label, action, outcome) values ('test', 'test.keep', 'ok') returning id`;
    await expect(sql`update audit_log set action = 'changed' where id = ${row?.id}`).rejects.toThrow(
      /append-only: UPDATE refused/,
    );
    await expect(sql`delete from audit_log where id = ${row?.id}`).rejects.toThrow(/append-only: DELETE refused/);
    await expect(sql`truncate audit_log`).rejects.toThrow(/append-only: TRUNCATE refused/);
    const [kept] = await sql`select action from audit_log where id = ${row?.id}`;
    expect(kept?.action).toBe("test.keep");
  });
});

describe("constraints that the engine relies on", () => {
  it("allow one live failback item per replica", async () => {
    const [site] = await sql`insert into sites (name) values ('constraint-site') returning id`;
    const [host] =
      await sql`insert into hosts (site_id, name, provider_kind) values (${site?.id}, 'h', 'qemu') returning id`;
    const [source] =
      await sql`insert into vms (host_id, external_id, name) values (${host?.id}, 'src', 'src') returning id`;
    const [copy] =
      await sql`insert into vms (host_id, external_id, name) values (${host?.id}, 'rep', 'rep') returning id`;
    const [replica] =
      await sql`insert into replicas (source_vm_id, replica_vm_id, state) values (${source?.id}, ${copy?.id}, 'failover') returning id`;
    const [session] = await sql`insert into failback_sessions (switch_mode) values ('manual') returning id`;
    await sql`insert into failback_items (session_id, replica_id, target_kind) values (${session?.id}, ${replica?.id}, 'original')`;
    await expect(
      sql`insert into failback_items (session_id, replica_id, target_kind) values (${session?.id}, ${replica?.id}, 'original')`,
    ).rejects.toThrow(/failback_items_one_live_per_replica/);
    await sql`update failback_items set state = 'committed' where replica_id = ${replica?.id}`;
    await sql`insert into failback_items (session_id, replica_id, target_kind) values (${session?.id}, ${replica?.id}, 'original')`;
  });
});
