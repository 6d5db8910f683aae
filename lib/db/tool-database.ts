// Database access for command-line tools (lab, migrate): DATABASE_URL, or the embedded server — reused when
// the product (or a killed run) has it running, otherwise started for the tool and stopped when it is done.
import path from "node:path";
import type { Config } from "@/lib/config";
import { startEmbeddedPostgres } from "./embedded";
import { applyMigrations } from "./migrate";

export interface ToolDatabase {
  url: string;
  release(): Promise<void>;
}

export async function openToolDatabase(cfg: Config, log: (line: string) => void): Promise<ToolDatabase> {
  if (cfg.databaseUrl) {
    await applyMigrations(cfg.databaseUrl);
    return { url: cfg.databaseUrl, release: async () => {} };
  }
  const server = await startEmbeddedPostgres({
    dir: path.join(cfg.dataDir, "postgres"),
    port: cfg.embeddedPostgresPort,
    log,
  });
  await applyMigrations(server.url);
  return { url: server.url, release: () => (server.adopted ? Promise.resolve() : server.stop()) };
}
