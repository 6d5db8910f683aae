// `npm run db:migrate`: apply the committed migrations to DATABASE_URL (npm start does this itself).
import { loadConfig } from "@/lib/config";
import { applyMigrations } from "@/lib/db/migrate";

const { databaseUrl } = loadConfig();
if (!databaseUrl) {
  console.error("Set DATABASE_URL to the server to migrate (npm start migrates the embedded database itself).");
  process.exit(1);
}
await applyMigrations(databaseUrl);
console.log("Migrations applied.");
