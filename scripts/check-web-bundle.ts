// `npm run check:web-bundle` (and a stage of `npm test`, after the build): the web app's server bundle must hold no
// worker-only code. Each worker-only module family carries a sentinel string (lib/server/boundary-sentinels.ts);
// finding one in .next/server means a page, route or action imports that family, directly or through others.
import fs from "node:fs";
import { boundarySentinels } from "@/lib/server/boundary-sentinels";
import { findSentinels } from "@/lib/server/find-sentinels";

const root = ".next/server";

if (!fs.existsSync(root)) {
  console.error(`${root} does not exist: build the web app first (npm run build).`);
  process.exit(1);
}
const findings = findSentinels(root, boundarySentinels);
if (findings.length === 0) {
  console.log(`${root} holds none of the ${boundarySentinels.length} worker-only sentinels.`);
  process.exit(0);
}
console.error(
  `${root} holds worker-only code; the web tier must leave hypervisor work to workers (see README, layout):`,
);
for (const { family, sentinel, file } of findings) console.error(`  ${family}: ${sentinel} in ${file}`);
// Turbopack leaves out the code of unused exports, yet a source map keeps its module's whole source: tell them apart.
console.error("A hit in a .js file is code the web app ships; a hit only in a .map means the family is in the web");
console.error("app's import graph though its code was left out. A map's \"sources\" list the modules of its bundle.");
process.exit(1);
