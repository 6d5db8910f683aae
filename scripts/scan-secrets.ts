// `npm test`'s last stage: what the product's server and workers printed during the run (the e2e server's log)
// must hold no password hash, token, session cookie, the e2e admin's password or the secret key.
import fs from "node:fs";
import { findSecrets } from "@/lib/server/secret-scan";
import { e2eRun } from "../e2e/support/run";

const file = e2eRun.serverLogFile;
if (!fs.existsSync(file)) {
  console.error(`${file} does not exist: the end-to-end tests did not run, so there is no server log to scan.`);
  process.exit(1);
}
const known = [{ kind: "e2e admin password", value: e2eRun.adminPassword }];
if (process.env.FAILBACK_SECRET_KEY) known.push({ kind: "secret key", value: process.env.FAILBACK_SECRET_KEY });
const findings = findSecrets(fs.readFileSync(file, "utf8"), known);
if (findings.length === 0) {
  console.log(`${file}: no password hash, token, session cookie or known secret in ${fs.statSync(file).size} bytes.`);
  process.exit(0);
}
console.error(`${file} holds secrets the server must never print:`);
for (const f of findings) console.error(`  line ${f.line}: ${f.kind}: ${f.excerpt}`);
process.exit(1);
