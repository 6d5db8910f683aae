import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeWithLibvirt, LIBVIRT_URI, libvirtAvailable, sshdAvailable } from "./libvirt";

// Nothing listens on port 1: libvirt is refused at once.
const DEAD_URI = "qemu+tcp://127.0.0.1:1/system";

describe("libvirt and sshd availability", () => {
  it("says whether virsh reaches libvirtd", () => {
    const answers = spawnSync("virsh", ["-q", "-c", LIBVIRT_URI, "version"], { stdio: "ignore" }).status === 0;
    expect(libvirtAvailable()).toBe(answers);
  });

  it("says whether OpenSSH is installed", () => {
    expect(sshdAvailable()).toBe(fs.existsSync("/usr/sbin/sshd"));
  });
});

describeWithLibvirt("describeWithLibvirt, with libvirtd up", () => {
  it("runs its tests", () => {
    expect(spawnSync("virsh", ["-c", LIBVIRT_URI, "list", "--all"]).status).toBe(0);
  });
});

// Where libvirtd does not answer: a separate vitest run over a one-suite file, with and without CI=true.
describe("describeWithLibvirt, without libvirtd", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-libvirt-test-"));
    const helper = JSON.stringify(path.join(import.meta.dirname, "libvirt.ts"));
    fs.writeFileSync(
      path.join(dir, "needs.test.ts"),
      `import { describeWithLibvirt } from ${helper};\ndescribeWithLibvirt("needs libvirt", () => it("runs", () => {}));\n`,
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function vitestRun(ci: boolean) {
    const env = { ...process.env, FAILBACK_TEST_LIBVIRT_URI: DEAD_URI, CI: ci ? "true" : "" };
    const vitest = path.join(process.cwd(), "node_modules/.bin/vitest");
    // --globals: the file lives outside the project, where `import "vitest"` would not resolve.
    return new Promise<{ code: number; report: Record<string, unknown>; output: string }>((resolve) =>
      execFile(vitest, ["run", "--root", dir, "--globals", "--reporter=json"], { env }, (err, stdout) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, report: JSON.parse(stdout), output: stdout }),
      ),
    );
  }

  it("fails the suite under CI, naming the fix", async () => {
    const { code, report, output } = await vitestRun(true);
    expect(code).toBe(1);
    expect(report).toMatchObject({ numFailedTests: 1, numPassedTests: 0 });
    expect(output).toContain(`libvirtd does not answer on ${DEAD_URI}; run bash scripts/libvirt-host.sh up`);
  });

  it("skips the suite elsewhere", async () => {
    const { code, report } = await vitestRun(false);
    expect(code).toBe(0);
    expect(report).toMatchObject({ numFailedTests: 0, numPassedTests: 0, numPendingTests: 1 });
  });
});
