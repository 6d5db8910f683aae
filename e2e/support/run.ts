import os from "node:os";
import path from "node:path";

/** Facts about this e2e run, shared by e2e/serve.ts and the tests (set in playwright.config.ts). */
export const e2eRun = {
  id: process.env.FAILBACK_E2E_RUN ?? "local",
  port: Number(process.env.FAILBACK_E2E_PORT ?? 3100),
  adminEmail: "admin@failback.local",
  adminPassword: process.env.FAILBACK_E2E_ADMIN_PASSWORD ?? "e2e-admin-password-1",
  /** The e2e lab: seven replicas in failover, one small disk each (each spec takes its own; the CLI test e2e-07). */
  labVms: ["e2e-01", "e2e-02", "e2e-03", "e2e-04", "e2e-05", "e2e-06", "e2e-07"].map((id) => ({
    id,
    name: id,
    tinyGuest: false,
    guestAgent: false,
    diskUnits: [1],
  })),
  get dataDir() {
    // Short on purpose: the qemu provider's NBD sockets live deep inside it (…/lab/dr/vms/<vm>-replica/run/nbd-
    // <disk>-read-at-fb-<session>-protect1.sock), and a unix socket path must stay under 108 bytes.
    return path.join(os.tmpdir(), `fbe-${this.id}`);
  },
  /** What the e2e server and its worker printed (relative to the project: kept with the other test results). */
  serverLogFile: "test-results/e2e-server.log",
  get databaseFile() {
    return path.join(this.dataDir, "e2e-database-url");
  },
};
