// Builds (or finds in the cache) the lab guest image and prints its paths.
//   node --import tsx lib/guest/cli.ts [cacheDir]
// Default cacheDir: $FAILBACK_GUEST_CACHE, else <os tmpdir>/failback-guest-cache.
import os from "node:os";
import path from "node:path";
import { ensureGuestImage, GuestBuildError, readGuestManifest } from "./build-guest";

async function main(): Promise<number> {
  const arg = process.argv[2];
  if (arg === "-h" || arg === "--help") {
    console.log("usage: node --import tsx lib/guest/cli.ts [cacheDir]");
    return 0;
  }
  const cacheDir = path.resolve(
    arg ?? process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache"),
  );
  const started = Date.now();
  try {
    const image = await ensureGuestImage(cacheDir, { log: (line) => console.error(`[guest] ${line}`) });
    const manifest = await readGuestManifest(cacheDir);
    console.log(`kernel=${image.kernel}`);
    console.log(`initrd=${image.initrd}`);
    if (manifest) {
      console.log(`release=${manifest.kernelRelease}`);
      console.log(`modules=${manifest.modules.join(",")}`);
    }
    console.error(`[guest] done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    if (err instanceof GuestBuildError) {
      console.error(`guest build failed [${err.code}]: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
