// `npm run lab -- create [--size small|demo] | reset | status [--json]`: the demo estate of real QEMU VMs.
import { ConfigError, loadConfig } from "@/lib/config";
import { connect } from "@/lib/db/client";
import { openToolDatabase } from "@/lib/db/tool-database";
import { createLab } from "@/lib/lab/create-lab";
import { setLabRemovedByUser } from "@/lib/lab/lab-state";
import { formatLabStatus, labStatus } from "@/lib/lab/lab-status";
import { resetLab } from "@/lib/lab/reset-lab";

const usage = "usage: npm run lab -- create [--size demo|small] | reset | status [--json]";
const log = (line: string) => console.log(`[lab] ${line}`);

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  const sizeFlag = rest.indexOf("--size");
  const cfg = loadConfig();
  const size = sizeFlag >= 0 ? rest[sizeFlag + 1] : cfg.lab.size;
  if (size !== "demo" && size !== "small") throw new Error(`--size must be demo or small\n${usage}`);
  if (!command || !["create", "reset", "status"].includes(command)) throw new Error(usage);

  const tool = await openToolDatabase(cfg, log);
  const database = connect(tool.url, { max: 2 });
  try {
    if (command === "create") {
      const started = Date.now();
      setLabRemovedByUser(cfg.lab.dir, false);
      await createLab({ db: database.db, labDir: cfg.lab.dir, guestCacheDir: cfg.guestCacheDir, size, log });
      log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else if (command === "reset") {
      await resetLab(database.db, cfg.lab.dir, log);
      setLabRemovedByUser(cfg.lab.dir, true);
      log("npm start will not build it again by itself; `npm run lab -- create` does.");
    } else {
      const status = await labStatus(database.db, cfg.lab.dir, cfg.guestCacheDir);
      console.log(rest.includes("--json") ? JSON.stringify(status, null, 2) : formatLabStatus(status));
    }
  } finally {
    await database.close();
    await tool.release();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : `[lab] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof Error && err.message.startsWith("usage") ? 2 : 1);
});
