import fs from "node:fs";
import postgres from "postgres";
import { e2eRun } from "./run";

/** A connection to the database the e2e server uses, to check what the UI cannot show (rows changed, audit). */
export function e2eDatabase(): postgres.Sql {
  return postgres(fs.readFileSync(e2eRun.databaseFile, "utf8").trim(), { max: 2, onnotice: () => {} });
}
