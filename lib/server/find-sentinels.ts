// Finds sentinel strings in a folder of build output: every file, searched as bytes, so minified code, source
// maps and anything else the bundler wrote are all covered.
import fs from "node:fs";
import path from "node:path";
import type { BoundarySentinel } from "./boundary-sentinels";

export interface SentinelFinding extends BoundarySentinel {
  /** The file it was found in: `root` joined with its path below it. */
  file: string;
}

/** Each sentinel found under `root`, once per file it is in; files in path order. */
export function findSentinels(root: string, sentinels: readonly BoundarySentinel[]): SentinelFinding[] {
  const needles = sentinels.map((s) => ({ ...s, bytes: Buffer.from(s.sentinel) }));
  const findings: SentinelFinding[] = [];
  for (const file of filesUnder(root)) {
    const content = fs.readFileSync(file);
    for (const { bytes, ...sentinel } of needles) if (content.includes(bytes)) findings.push({ ...sentinel, file });
  }
  return findings;
}

/** Regular files below `dir`, in name order; symbolic links are not followed (they lead out of the build). */
function filesUnder(dir: string): string[] {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  return entries.flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return entry.isFile() ? [full] : [];
  });
}
