import postgres from "postgres";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { config } from "@/lib/config";
import * as schema from "./schema";

export type Db = PostgresJsDatabase<typeof schema>;
/** A transaction has the same query surface as the database; queries accept either. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export interface ConnectOptions {
  max?: number;
  /**
   * Workers set this: a worker stopped in the middle of a transaction (SIGSTOP, a stalled VM) must not hold its
   * row locks forever — the server ends such a transaction, so another worker can take the item over.
   */
  idleInTransactionTimeoutMs?: number;
}

export function connect(url: string, options: ConnectOptions = {}): Database {
  const connection = options.idleInTransactionTimeoutMs
    ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }
    : undefined;
  const sql = postgres(url, { max: options.max ?? 10, onnotice: () => {}, connection });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

// Cached on globalThis so module reloads (dev server, test re-imports) do not open new pools.
const holder = globalThis as unknown as { failbackDatabase?: Database };

/** The process's database. The start script sets DATABASE_URL (to the embedded server when none was given). */
export function database(): Database {
  if (!holder.failbackDatabase) {
    const url = config().databaseUrl;
    if (!url) throw new Error("DATABASE_URL is not set: start the product with `npm start`, which provides one.");
    holder.failbackDatabase = connect(url);
  }
  return holder.failbackDatabase;
}

export function db(): Db {
  return database().db;
}
