import { defineConfig } from "drizzle-kit";

// Only `generate` is used (migrations are committed and applied by scripts/migrate.ts); never `push`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./lib/db/schema.ts",
  out: "./drizzle",
});
