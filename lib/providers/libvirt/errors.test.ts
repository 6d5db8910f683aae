// The errors a user meets with libvirt hosts, on a real daemon: each a typed ProviderError with libvirt's own
// words and what to do — never a crash.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeWithLibvirt } from "@/lib/testing/libvirt";
import { ProviderError } from "../errors";
import { defineDomain } from "./create";
import { LibvirtProvider } from "./provider";
import { TestDomains } from "./testing/domains";

const domains = new TestDomains();
afterAll(() => domains.cleanup());

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describeWithLibvirt("libvirt errors", () => {
  it("a daemon that does not answer: transient, with libvirt's words and a hint", async () => {
    const provider = new LibvirtProvider({ uri: "qemu:///system?socket=/tmp/failback-no-such-libvirt.sock" });
    const error = await failure(provider.listVms());
    expect(error).toMatchObject({ kind: "hypervisor", transient: true });
    expect(error.message).toMatch(/libvirt does not answer.*libvirtd runs/);
    expect(error.toolMessage).toMatch(/Failed to connect socket/);
  });

  it("a domain that vanished is not_found, naming the host", async () => {
    const vm = await domains.create("vanishing");
    execFileSync("virsh", ["-q", "-c", "qemu:///system", "undefine", vm.id]);
    const error = await failure(domains.provider.getVm(vm.id));
    expect(error.kind).toBe("not_found");
    expect(error.message).toMatch(/vanished/);
    expect((await failure(domains.provider.ensureSnapshot(vm.id, "s1", "working"))).kind).toBe("not_found");
    expect((await failure(domains.provider.getVm("not-a-uuid"))).kind).toBe("invalid");
  });

  it("a raw disk is listed with the reason, and snapshots of it are refused with what to do", async () => {
    const raw = path.join(domains.storageDir, "legacy.img");
    execFileSync("qemu-img", ["create", "-q", "-f", "raw", raw, "8M"]);
    await defineDomain(
      domains.provider.host,
      `<domain type='qemu'><name>${domains.tag}-legacy</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
        <os><type arch='x86_64' machine='q35'>hvm</type></os>
        <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${raw}'/>
        <target dev='vda' bus='virtio'/></disk></devices></domain>`,
    );
    const listed = (await domains.provider.listVms()).find((vm) => vm.name === `${domains.tag}-legacy`);
    expect(listed?.config.unsupported).toMatch(/vda is raw.*qemu-img convert -O qcow2/);
    const error = await failure(domains.provider.ensureSnapshot(listed?.id as string, "s1", "working"));
    expect(error.kind).toBe("unsupported");
    expect(error.message).toMatch(/qemu-img convert/);
  });

  it("new disks go to a folder-backed storage pool named instead of a folder; an unknown pool is not_found", async () => {
    const source = await domains.create("pool-source");
    const folder = path.join(domains.storageDir, "pool");
    const pool = `${domains.tag}-pool`;
    execFileSync("virsh", ["-q", "-c", "qemu:///system", "pool-define-as", pool, "dir", "--target", folder]);
    try {
      const like = await domains.provider.ensureVmLike(source.id, `${domains.tag}-in-pool`, { storage: pool });
      expect(like.disks.map((d) => path.dirname(d.locator))).toEqual([folder, folder]);
      const error = await failure(
        domains.provider.ensureVmLike(source.id, `${domains.tag}-nowhere`, { storage: "no-such-pool" }),
      );
      expect(error.kind).toBe("not_found");
    } finally {
      execFileSync("virsh", ["-q", "-c", "qemu:///system", "pool-undefine", pool]);
    }
  });

  it("a domain whose disk image is missing stays listed, with the reason", async () => {
    const vm = await domains.create("lost-image");
    fs.rmSync(vm.disks[0]?.locator as string);
    const listed = (await domains.provider.listVms()).find((v) => v.id === vm.id);
    expect(listed?.config.unsupported).toMatch(/disk vda: .*(Could not open|No such file)/);
    const refused = await failure(domains.provider.ensureSnapshot(vm.id, "s1", "working"));
    expect(refused.kind).toBe("invalid");
    expect(refused.message).toMatch(/vda: its image .* is missing/);
  });

  it("free space where new VMs go (no VM yet), and exports from a run folder that does not exist yet", async () => {
    const provider = new LibvirtProvider({
      uri: "qemu:///system",
      storageDir: path.join(domains.storageDir, "not", "made", "yet"),
      runDir: path.join(domains.storageDir, "run", "deeper", "than", "a", "socket", "path", "may", "be", "long"),
    });
    expect(await provider.freeSpaceBytes("")).toBeGreaterThan(0);
    const vm = await provider.createVm({
      name: `${domains.tag}-deep`,
      guestAgent: false,
      disks: [{ label: "vda", sizeBytes: 8 << 20 }],
    });
    await provider.ensureSnapshot(vm.id, "fb-2dcc2e2af221-work1", "working");
    const handle = await provider.openSnapshotForWrite(vm.id, "vda", "fb-2dcc2e2af221-work1");
    await handle.write(0, Buffer.alloc(65536, 7));
    await handle.close();
  });

  it("a snapshot name the provider cannot use is invalid before anything is touched", async () => {
    const vm = await domains.create("names");
    expect((await failure(domains.provider.ensureSnapshot(vm.id, "../x", "working"))).kind).toBe("invalid");
    expect(await domains.provider.listSnapshots(vm.id)).toEqual([]);
  });
});
