// `npm run lab -- create [--size small|demo] [--provider qemu|libvirt] | reset | status [--json]`: the demo estate
// of real VMs — QEMU VMs in folders (default), or libvirt domains on FAILBACK_LIBVIRT_URI (default qemu:///system).
import { ConfigError, loadConfig } from "@/lib/config";
import { connect } from "@/lib/db/client";
import { openToolDatabase } from "@/lib/db/tool-database";
import { createLab } from "@/lib/lab/create-lab";
import { setLabRemovedByUser } from "@/lib/lab/lab-state";
import { formatLabStatus, labStatus } from "@/lib/lab/lab-status";
import { resetLab } from "@/lib/lab/reset-lab";

const usage = "usage: npm run lab -- create [--size demo|small] [--provider qemu|libvirt] | reset | status [--json]";
const log = (line: string) => console.log(`[lab] ${line}`);

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  const sizeFlag = rest.indexOf("--size");
  const cfg = loadConfig();
  const size = sizeFlag >= 0 ? rest[sizeFlag + 1] : cfg.lab.size;
  if (size !== "demo" && size !== "small") throw new Error(`--size must be demo or small\n${usage}`);
  const providerFlag = rest.indexOf("--provider");
  const provider = providerFlag >= 0 ? rest[providerFlag + 1] : "qemu";
  if (provider !== "qemu" && provider !== "libvirt") throw new Error(`--provider must be qemu or libvirt\n${usage}`);
  if (!command || !["create", "reset", "status"].includes(command)) throw new Error(usage);

  const tool = await openToolDatabase(cfg, log);
  const database = connect(tool.url, { max: 2 });
  try {
    if (command === "create") {
      const started = Date.now();
      setLabRemovedByUser(cfg.lab.dir, false);
      await createLab({
        db: database.db,
        labDir: cfg.lab.dir,
        guestCacheDir: cfg.guestCacheDir,
        size,
        provider,
        log,
      });
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
