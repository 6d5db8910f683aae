// `npm start` serves the production build; it builds first when there is none or a source file is newer.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

const sourceRoots = [
  "app",
  "components",
  "lib",
  "public",
  "next.config.ts",
  "postcss.config.mjs",
  "package-lock.json",
  "tsconfig.json",
];

function newestMtime(entry: string): number {
  const stat = fs.statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

export function buildIsCurrent(dir: string): boolean {
  const buildId = fs.statSync(path.join(dir, ".next", "BUILD_ID"), { throwIfNoEntry: false });
  if (!buildId) return false;
  return sourceRoots.every((root) => newestMtime(path.join(dir, root)) <= buildId.mtimeMs);
}

export function ensureBuild(dir: string, log: (line: string) => void): void {
  if (buildIsCurrent(dir)) return;
  log("Building the web app (next build)…");
  const result = spawnSync(process.execPath, [path.join(dir, "node_modules", "next", "dist", "bin", "next"), "build"], {
    cwd: dir,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) throw new Error("next build failed; see its output above.");
}
