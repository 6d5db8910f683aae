// The libvirt provider across SSH, for real: this machine's own sshd on a free port with a key made for the test,
// the host registered as qemu+ssh://root@127.0.0.1:PORT/system?keyfile=…, and the provider run by a process in a
// mount namespace where the host's storage folder is hidden — a step that bypassed SSH would not find its files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { execWithFolderHidden } from "@/lib/testing/hidden-folder";
import { describeWithLibvirt, describeWithSshd } from "@/lib/testing/libvirt";
import { startTestSshd, type TestSshd } from "@/lib/testing/sshd";
import { ProviderError } from "../errors";
import { LibvirtHost } from "./host";
import { LibvirtProvider } from "./provider";
import { removeDomainsTagged } from "./testing/domains";

const child = path.join(import.meta.dirname, "testing", "ssh-child.ts");
const tag = `fbs-${process.pid}`;
const block = 64 * 1024;
let sshd: TestSshd | undefined;
let storageDir: string;

describeWithLibvirt("libvirt across SSH", () => {
  describeWithSshd("with a real sshd", () => {
    beforeAll(async () => {
      sshd = await startTestSshd();
      storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "fblv-ssh-"));
    });
    afterAll(async () => {
      await removeDomainsTagged(new LibvirtHost("qemu:///system"), tag);
      fs.rmSync(storageDir, { recursive: true, force: true });
      await sshd?.stop();
    });

    it("runs the contract's core through SSH from a process that cannot see the host's storage", async () => {
      const result = await execWithFolderHidden(storageDir, process.execPath, [
        "--import",
        "tsx",
        child,
        sshd!.uri,
        storageDir,
        tag,
      ]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const seen = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
      console.log(`[libvirt over ssh timings] ${JSON.stringify(seen.timings)}`);
      expect(seen).toMatchObject({
        storageVisible: false,
        localFileVisible: false,
        disks: [["vda", 16 * 1024 * 1024]],
        changedOffline: { available: true, regions: [{ offset: 2 * block, length: block }] },
        belowW1: 0,
        afterCommit: 0x13,
        frozen: 0,
        sinceCbtBelowP1: { available: true, regions: [{ offset: 2 * block, length: 2 * block }] },
        shutdown: "forced",
        afterMerge: 0x22,
        reconcile: { actions: [], problems: [] },
        like: { cpus: 2, disks: [["vda", 16 * 1024 * 1024]] },
        freeSpace: true,
        snapshots: [],
      });
      // Outside the namespace the files are there: it was the namespace, not a missing disk.
      expect(fs.readdirSync(storageDir).some((f) => f.endsWith(".qcow2"))).toBe(true);
    }, 240_000);

    it("a key the host does not know is refused with a typed error, without a prompt", async () => {
      const stranger = path.join(storageDir, "stranger");
      await new Promise<void>((resolve, reject) =>
        import("node:child_process").then(({ execFile }) =>
          execFile("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger], (err) =>
            err ? reject(err) : resolve(),
          ),
        ),
      );
      const uri = sshd!.uri.replace(/keyfile=[^&]+/, `keyfile=${encodeURIComponent(stranger)}`);
      const provider = new LibvirtProvider({ uri, storageDir });
      const error = await provider.listVms().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).kind).toBe("invalid");
      expect((error as ProviderError).message).toMatch(/refused the SSH key/);
      const file = await new LibvirtHost(uri).run("true", []).catch((err: unknown) => err);
      expect((file as ProviderError).message).toMatch(/refused the SSH key/);
    });

    it("an unreachable host is a typed, transient error", async () => {
      const provider = new LibvirtProvider({
        uri: `qemu+ssh://root@127.0.0.1:1/system?keyfile=${encodeURIComponent(sshd!.keyFile)}&no_verify=1`,
      });
      const error = (await provider.listVms().catch((err: unknown) => err)) as ProviderError;
      expect(error).toBeInstanceOf(ProviderError);
      expect(error.transient).toBe(true);
      expect(error.message).toMatch(/does not answer|cannot be reached/);
    });
  });
});
