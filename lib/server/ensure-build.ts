// `npm start` serves the production build; it builds first when there is none or a source file is newer.
// What the build warned about is kept beside it, so that `npm test` judges a reused build like a fresh one.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { describeTracingWarnings, tracingWarnings } from "./tracing-warnings";

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

export interface BuildCheck {
  /** Where `next build` warned that it traces the whole project (see tracing-warnings.ts); empty when it did not. */
  tracingWarnings: string[];
}

/** Written after a successful build; `next build` empties .next first, so it never outlives its build. */
const checkFile = (dir: string) => path.join(dir, ".next", "failback-build-check.json");

function keptCheck(dir: string): BuildCheck | undefined {
  try {
    const kept = JSON.parse(fs.readFileSync(checkFile(dir), "utf8")) as Partial<BuildCheck>;
    return Array.isArray(kept.tracingWarnings) ? { tracingWarnings: kept.tracingWarnings } : undefined;
  } catch {
    return undefined;
  }
}

export async function ensureBuild(dir: string, log: (line: string) => void): Promise<BuildCheck> {
  // A current build without a kept check was made by a bare `next build`: build again rather than guess.
  const kept = buildIsCurrent(dir) ? keptCheck(dir) : undefined;
  if (kept) return kept;
  log("Building the web app (next build)…");
  const { status, output } = await nextBuild(dir);
  const check: BuildCheck = { tracingWarnings: tracingWarnings(output) };
  if (status !== 0) {
    const warned = check.tracingWarnings.length ? `\n${describeTracingWarnings(check.tracingWarnings)}` : "";
    throw new Error(`next build failed; see its output above.${warned}`);
  }
  fs.writeFileSync(checkFile(dir), `${JSON.stringify(check, null, 2)}\n`);
  return check;
}

/** Runs `next build`, showing its output as it comes (as inherited stdio would) while keeping it to be checked. */
function nextBuild(dir: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(dir, "node_modules", "next", "dist", "bin", "next"), "build"], {
      cwd: dir,
      stdio: ["inherit", "pipe", "pipe"],
      // Piped output would otherwise lose the colours a terminal shows today.
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}) },
    });
    let output = "";
    const tee = (from: NodeJS.ReadableStream, to: NodeJS.WriteStream) => {
      from.setEncoding("utf8");
      from.on("data", (text: string) => {
        to.write(text);
        output += text;
      });
    };
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}
