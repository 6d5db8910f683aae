// Domain XML as libvirt writes it: what the provider reads from it, what it refuses, and its edits.
import { describe, expect, it } from "vitest";
import { ProviderError } from "../errors";
import { cloneDefinition, describeDomain, unsupportedDiskReason, withDiskSource } from "./domain-xml";
import { parseLibvirtUri, shellQuote, virshError } from "./host";

const domain = `<domain type='qemu' id='3'>
  <name>web-01</name>
  <uuid>5b0f8a53-8a53-4c44-9a55-0d1f9e3a0c11</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web.p1.qcow2' index='2'/>
      <backingStore type='file' index='1'><format type='qcow2'/><source file='/var/lib/libvirt/images/web.qcow2'/><backingStore/></backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/web-data.img'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='pool/web-ceph'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/secret.qcow2'><encryption format='luks'><secret type='passphrase' uuid='x'/></encryption></source>
      <target dev='vdd' bus='virtio'/>
    </disk>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices>
</domain>`;

describe("domain XML", () => {
  it("describes name, UUID, CPUs, memory, disks (not CD-ROMs), interfaces and the guest agent", () => {
    const d = describeDomain(domain);
    expect(d).toMatchObject({
      name: "web-01",
      uuid: "5b0f8a53-8a53-4c44-9a55-0d1f9e3a0c11",
      cpus: 2,
      memoryMib: 256,
      hasAgentChannel: true,
      acpi: true,
      interfaces: [{ type: "network", source: "default", mac: "52:54:00:aa:bb:cc" }],
    });
    expect(d.disks.map((disk) => [disk.label, disk.format, disk.file, disk.alias])).toEqual([
      ["vda", "qcow2", "/var/lib/libvirt/images/web.p1.qcow2", "virtio-disk0"],
      ["vdb", "raw", "/var/lib/libvirt/images/web-data.img", undefined],
      ["vdc", "raw", undefined, undefined],
      ["vdd", "qcow2", "/var/lib/libvirt/images/secret.qcow2", undefined],
    ]);
  });

  it("says why raw, network and LUKS disks cannot be handled, and what to do", () => {
    const reasons = describeDomain(domain).disks.map(unsupportedDiskReason);
    expect(reasons[0]).toBeUndefined();
    expect(reasons[1]).toMatch(/vdb is raw.*qemu-img convert -O qcow2/);
    expect(reasons[2]).toMatch(/vdc is a network disk \(protocol='rbd'.*file-based storage pool/);
    expect(reasons[3]).toMatch(/vdd is encrypted \(LUKS\)/);
  });

  it("re-points a disk at another image and drops its stale backing chain", () => {
    const edited = describeDomain(withDiskSource(domain, "vda", "/var/lib/libvirt/images/web.qcow2"));
    expect(edited.disks[0]?.file).toBe("/var/lib/libvirt/images/web.qcow2");
    expect(withDiskSource(domain, "vda", "/x.qcow2")).not.toMatch(/<backingStore type='file'/);
    expect(() => withDiskSource(domain, "vdz", "/x.qcow2")).toThrow(ProviderError);
  });

  it("clones a definition: new name, no UUID or MAC, overrides applied, fresh disk files", () => {
    const xml = cloneDefinition(domain, {
      name: "web-01 (new)",
      cpus: 4,
      memoryMib: 512,
      network: "failback-net",
      diskFiles: { vda: "/new/web.vda.qcow2" },
    });
    const clone = describeDomain(xml);
    expect(clone).toMatchObject({ name: "web-01 (new)", uuid: "", cpus: 4, memoryMib: 512 });
    expect(clone.interfaces).toEqual([{ type: "network", source: "failback-net", mac: undefined }]);
    expect(clone.disks[0]?.file).toBe("/new/web.vda.qcow2");
  });

  it("refuses what is not a domain", () => {
    expect(() => describeDomain("<network/>")).toThrow(/not a libvirt domain/);
  });
});

describe("libvirt URIs and the host's shell", () => {
  it("reads local and SSH URIs; the SSH key is required and nothing else is accepted", () => {
    expect(parseLibvirtUri("qemu:///system")).toBeUndefined();
    expect(parseLibvirtUri("qemu+ssh://admin@kvm-01:2222/system?keyfile=/keys/id&no_verify=1")).toEqual({
      user: "admin",
      host: "kvm-01",
      port: 2222,
      keyFile: "/keys/id",
      noVerify: true,
    });
    expect(() => parseLibvirtUri("qemu+ssh://kvm-01/system")).toThrow(/keyfile/);
    expect(() => parseLibvirtUri("xen:///system")).toThrow(/only qemu/);
    expect(() => parseLibvirtUri("not a uri")).toThrow(/not a libvirt URI/);
  });

  it("quotes words for the remote shell", () => {
    expect(shellQuote("/var/lib/a.qcow2")).toBe("/var/lib/a.qcow2");
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
  });

  it("turns libvirt's messages into typed errors with its own words", () => {
    const cases: [string, string][] = [
      ["error: failed to get domain 'x'\nerror: Domain not found: no domain with matching name 'x'", "not_found"],
      ["error: Timed out during operation: cannot acquire state change lock", "busy"],
      [
        "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock'",
        "hypervisor",
      ],
      ["error: Operation not supported: cannot perform block operations while checkpoint exists", "unsupported"],
      ["error: Cannot recv data: root@h: Permission denied (publickey).", "invalid"],
    ];
    for (const [message, kind] of cases) {
      const err = virshError(message);
      expect(err.kind).toBe(kind);
      expect(err.toolMessage).toContain(
        message
          .split("\n")
          .at(-1)
          ?.replace(/^error: /, ""),
      );
    }
  });
});
