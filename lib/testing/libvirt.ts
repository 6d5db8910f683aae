// Test suites that need a libvirt daemon or an OpenSSH server. Where one is missing, a developer's run skips
// them; CI (CI=true) fails them instead, so a broken host cannot pass as a green run with the tests skipped.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { describe, it } from "vitest";

export const LIBVIRT_URI = process.env.FAILBACK_TEST_LIBVIRT_URI ?? "qemu:///system";
export const SSHD_BINARY = "/usr/sbin/sshd";

// Each check runs once per test file: suites call them while vitest collects, and virsh may take a while.
let libvirtAnswers: boolean | undefined;
let sshdInstalled: boolean | undefined;

/** Whether libvirtd answers on LIBVIRT_URI (`virsh version`, given at most 10 s). */
export function libvirtAvailable(): boolean {
  libvirtAnswers ??=
    spawnSync("virsh", ["-q", "-c", LIBVIRT_URI, "version"], { stdio: "ignore", timeout: 10_000 }).status === 0;
  return libvirtAnswers;
}

/** Whether OpenSSH is installed: the server, and ssh-keygen and ssh to make keys and reach it. */
export function sshdAvailable(): boolean {
  sshdInstalled ??= fs.existsSync(SSHD_BINARY) && onPath("ssh-keygen") && onPath("ssh");
  return sshdInstalled;
}

// Spawning fails with ENOENT when the program is not on PATH; any exit status means it is there.
function onPath(program: string): boolean {
  return spawnSync(program, ["-V"], { stdio: "ignore", timeout: 10_000 }).error === undefined;
}

export function describeWithLibvirt(name: string, fn: () => void): void {
  describeWhen(
    libvirtAvailable(),
    name,
    fn,
    `libvirtd does not answer on ${LIBVIRT_URI}; run bash scripts/libvirt-host.sh up`,
  );
}

export function describeWithSshd(name: string, fn: () => void): void {
  describeWhen(
    sshdAvailable(),
    name,
    fn,
    `OpenSSH is not installed (${SSHD_BINARY}, ssh-keygen, ssh); install openssh-server and openssh-client`,
  );
}

function describeWhen(available: boolean, name: string, fn: () => void, missing: string): void {
  if (available) describe(name, fn);
  else if (process.env.CI === "true")
    describe(name, () => {
      it("has what it needs on this machine", () => {
        throw new Error(missing);
      });
    });
  else describe.skip(name, fn);
}
