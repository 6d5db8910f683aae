import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithLibvirt, describeWithSshd } from "./libvirt";
import { startTestSshd, type TestSshd } from "./sshd";

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true)).once("error", () => done(false));
    socket.setTimeout(5_000, () => done(false));
  });
}

describeWithSshd("the test OpenSSH server", () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startTestSshd();
  });
  afterAll(() => sshd?.stop());

  it("lets root in with its key", async () => {
    expect(await run("ssh", [...sshd.sshArgs, "root@127.0.0.1", "echo", "ok"])).toMatchObject({
      code: 0,
      stdout: "ok\n",
    });
  });

  it("refuses a key it does not know, without asking for anything", async () => {
    const other = path.join(path.dirname(sshd.keyFile), "other_ed25519");
    expect((await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])).code).toBe(0);
    const args = sshd.sshArgs.map((arg) => (arg === sshd.keyFile ? other : arg));
    const result = await run("ssh", [...args, "root@127.0.0.1", "true"]);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain("Permission denied");
  });

  describeWithLibvirt("with libvirtd", () => {
    it("carries virsh to the system daemon", async () => {
      const result = await run("virsh", ["-c", sshd.uri, "list", "--all"]);
      expect(result.stderr).toBe("");
      expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining("Name") });
    });
  });

  it("stops: the port no longer accepts and its files are gone", async () => {
    const dir = path.dirname(sshd.keyFile);
    expect(await accepts(sshd.port)).toBe(true);
    await sshd.stop();
    expect(await accepts(sshd.port)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
