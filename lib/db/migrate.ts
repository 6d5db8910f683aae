import path from "node:path";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { connect } from "./client";

export const migrationsFolder = path.join(process.cwd(), "drizzle");

/** Applies the committed migrations in drizzle/; safe to run on every start (applied ones are skipped). */
export async function applyMigrations(url: string): Promise<void> {
  const database = connect(url, { max: 1 });
  try {
    await migrate(database.db, { migrationsFolder });
  } finally {
    await database.close();
  }
}
