import { inject } from "vitest";
import { connect, type Database } from "@/lib/db/client";

/** The run's database (made by the global setup), for integration tests. */
export function testDatabase(): Database {
  return connect(inject("databaseUrl"), { max: 4 });
}
