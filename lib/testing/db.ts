import crypto from "node:crypto";
import { inject } from "vitest";
import { applyMigrations } from "@/lib/db/migrate";
import { connect, type Database } from "@/lib/db/client";

/** The run's database (made by the global setup), for integration tests. */
export function testDatabase(): Database {
  return connect(inject("databaseUrl"), { max: 4 });
}

/**
 * A database of this test file's own, beside the run's (same server, migrated), for tests that must not see
 * other files' workers — e.g. "no worker answered". Dropped by `drop`.
 */
export async function isolatedDatabase(prefix: string): Promise<Database & { url: string; drop(): Promise<void> }> {
  const runUrl = new URL(inject("databaseUrl"));
  const name = `${prefix}_${crypto.randomBytes(4).toString("hex")}`;
  const admin = connect(runUrl.toString(), { max: 1 });
  await admin.sql.unsafe(`create database ${name}`);
  const url = new URL(runUrl);
  url.pathname = `/${name}`;
  await applyMigrations(url.toString());
  const own = connect(url.toString(), { max: 4 });
  return {
    ...own,
    url: url.toString(),
    async drop() {
      await own.close();
      await admin.sql.unsafe(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}
