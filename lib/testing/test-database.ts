// A database of its own for each test run, so runs never collide: a fresh database on DATABASE_URL's server
// when it is set (CI: the machine's PostgreSQL), otherwise a throwaway embedded server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { freePort } from "./free-port";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(prefix = "failback_test"): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${process.pid}`;
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database "${name}"`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    const url = withDatabase(serverUrl, name);
    await applyMigrations(url);
    return {
      url,
      drop: async () => {
        const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
        try {
          await sql.unsafe(`drop database if exists "${name}" with (force)`);
        } finally {
          await sql.end({ timeout: 5 });
        }
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-test-pg-"));
  const server = await startEmbeddedPostgres({ dir, port: await freePort(), database: name });
  await applyMigrations(server.url);
  return {
    url: server.url,
    drop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
