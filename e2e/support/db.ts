import fs from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { e2eRun } from "./run";

/** A connection to the database the e2e server uses, to check what the UI cannot show (rows changed, audit). */
export function e2eDatabase(): postgres.Sql {
  let url: string;
  if (fs.existsSync(e2eRun.databaseFile)) {
    url = fs.readFileSync(e2eRun.databaseFile, "utf8").trim();
  } else {
    const password = fs.readFileSync(path.join(e2eRun.dataDir, "postgres", "password"), "utf8").trim();
    url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${e2eRun.pgPort}/failback`;
  }
  return postgres(url, { max: 2, onnotice: () => {} });
}
