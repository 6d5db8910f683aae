// Reading and editing libvirt domain XML. The provider never keeps a copy of a domain's configuration: every
// answer comes from `virsh dumpxml`, and every change is a `virsh define` of an edited dump.
import { DOMParser, XMLSerializer, type Element } from "@xmldom/xmldom";
import { ProviderError } from "../errors";

export interface DomainDisk {
  /** target dev: vda, vdb, … (the provider's disk label). */
  label: string;
  /** file, block, network, volume. */
  type: string;
  /** qcow2, raw, … (driver type). */
  format: string;
  /** The top image's path (type='file'). */
  file: string | undefined;
  /** libvirt's alias of the disk device while the domain runs (virtio-disk0). */
  alias: string | undefined;
  encrypted: boolean;
  /** What the <source> says when it is not a file (protocol='rbd', pool='…', dev='…'). */
  sourceDescription: string;
  readOnly: boolean;
}

export interface DomainInterface {
  type: string;
  source: string | undefined;
  mac: string | undefined;
}

export interface DomainDescription {
  /** Running or paused: a live definition carries the domain's id. */
  active: boolean;
  uuid: string;
  name: string;
  cpus: number;
  memoryMib: number;
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  hasAgentChannel: boolean;
  acpi: boolean;
  /** Direct kernel boot (the lab's tiny guest). */
  kernel: string | undefined;
}

function parse(xml: string) {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const root = doc.documentElement;
  if (!root || root.tagName !== "domain") throw new ProviderError("invalid", "not a libvirt domain definition");
  return { doc, root };
}

const children = (parent: Element, tag: string): Element[] =>
  Array.from(parent.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).tagName === tag);
const child = (parent: Element, tag: string): Element | undefined => children(parent, tag)[0];
const text = (el: Element | undefined) => el?.textContent?.trim() ?? "";

const unitMib: Record<string, number> = {
  b: 1 / 1024 / 1024,
  bytes: 1 / 1024 / 1024,
  k: 1 / 1024,
  kib: 1 / 1024,
  m: 1,
  mib: 1,
  g: 1024,
  gib: 1024,
};

export function describeDomain(xml: string): DomainDescription {
  const { root } = parse(xml);
  const devices = child(root, "devices");
  const memory = child(root, "memory");
  const unit = (memory?.getAttribute("unit") ?? "KiB").toLowerCase();
  const disks = devices ? children(devices, "disk").filter((d) => (d.getAttribute("device") ?? "disk") === "disk") : [];
  const os = child(root, "os");
  return {
    active: root.hasAttribute("id") && root.getAttribute("id") !== "-1",
    uuid: text(child(root, "uuid")),
    name: text(child(root, "name")),
    cpus: Number(text(child(root, "vcpu"))) || 1,
    memoryMib: Math.round(Number(text(memory)) * (unitMib[unit] ?? 1 / 1024)),
    disks: disks.map(describeDisk),
    interfaces: devices
      ? children(devices, "interface").map((i) => {
          const source = child(i, "source");
          return {
            type: i.getAttribute("type") ?? "",
            source: source?.getAttribute("network") ?? source?.getAttribute("bridge") ?? undefined,
            mac: child(i, "mac")?.getAttribute("address") ?? undefined,
          };
        })
      : [],
    hasAgentChannel: devices
      ? children(devices, "channel").some((c) => child(c, "target")?.getAttribute("name") === "org.qemu.guest_agent.0")
      : false,
    acpi: Boolean(child(root, "features") && child(child(root, "features") as Element, "acpi")),
    kernel: os ? text(child(os, "kernel")) || undefined : undefined,
  };
}

function describeDisk(disk: Element): DomainDisk {
  const source = child(disk, "source");
  const attributes = source
    ? Array.from(source.attributes)
        .map((a) => `${a.name}='${a.value}'`)
        .join(" ")
    : "";
  return {
    label: child(disk, "target")?.getAttribute("dev") ?? "",
    type: disk.getAttribute("type") ?? "file",
    format: child(disk, "driver")?.getAttribute("type") ?? "raw",
    file: disk.getAttribute("type") === "file" ? (source?.getAttribute("file") ?? undefined) : undefined,
    alias: child(disk, "alias")?.getAttribute("name") ?? undefined,
    encrypted: Boolean(child(disk, "encryption") || (source && child(source, "encryption"))),
    sourceDescription: attributes,
    readOnly: Boolean(child(disk, "readonly")),
  };
}

/** Why the provider cannot work with a disk, or undefined when it can. */
export function unsupportedDiskReason(disk: DomainDisk): string | undefined {
  if (disk.type !== "file")
    return `disk ${disk.label} is a ${disk.type} disk (${disk.sourceDescription}): only file-backed qcow2 disks can be snapshotted and tracked; move it to a file-based storage pool`;
  if (disk.encrypted)
    return `disk ${disk.label} is encrypted (LUKS): its blocks cannot be compared or copied without the key; decrypt it or exclude the VM`;
  if (disk.format !== "qcow2")
    return `disk ${disk.label} is ${disk.format}: external snapshots and change tracking need qcow2 (convert it with qemu-img convert -O qcow2)`;
  if (!disk.file) return `disk ${disk.label} has no source file`;
  return undefined;
}

/**
 * The definition with `label`'s disk pointing at `file` (qcow2) and no <backingStore>: libvirt then reads the
 * chain from the qcow2 headers at the next start, so the definition can never name a stale chain.
 */
export function withDiskSource(xml: string, label: string, file: string): string {
  const { doc, root } = parse(xml);
  const disk = diskElement(root, label);
  let source = child(disk, "source");
  if (!source) {
    source = doc.createElement("source");
    disk.appendChild(source);
  }
  for (const attr of Array.from(source.attributes)) source.removeAttribute(attr.name);
  source.setAttribute("file", file);
  for (const backing of children(disk, "backingStore")) disk.removeChild(backing);
  child(disk, "driver")?.setAttribute("type", "qcow2");
  return new XMLSerializer().serializeToString(doc);
}

function diskElement(root: Element, label: string): Element {
  const devices = child(root, "devices");
  const disk = devices
    ? children(devices, "disk").find((d) => child(d, "target")?.getAttribute("dev") === label)
    : undefined;
  if (!disk) throw new ProviderError("not_found", `disk ${label} not found in the domain definition`);
  return disk;
}

export interface CloneEdits {
  name: string;
  cpus?: number;
  memoryMib?: number;
  network?: string;
  /** label → the new disk's file. */
  diskFiles: Record<string, string>;
}

/**
 * A definition for a new domain like this one: new name, no UUID (libvirt makes one), no MAC addresses (libvirt
 * makes new ones), the overrides applied, each disk a fresh file. Devices only a running domain has (aliases,
 * the live backing chain) are dropped.
 */
export function cloneDefinition(xml: string, edits: CloneEdits): string {
  const { doc, root } = parse(xml);
  child(root, "name")!.textContent = edits.name;
  for (const uuid of children(root, "uuid")) root.removeChild(uuid);
  if (edits.cpus !== undefined) child(root, "vcpu")!.textContent = String(edits.cpus);
  if (edits.memoryMib !== undefined) {
    for (const tag of ["memory", "currentMemory"]) {
      const el = child(root, tag);
      if (!el) continue;
      el.setAttribute("unit", "MiB");
      el.textContent = String(edits.memoryMib);
    }
  }
  const devices = child(root, "devices");
  if (devices) {
    for (const iface of children(devices, "interface")) {
      for (const mac of children(iface, "mac")) iface.removeChild(mac);
      if (edits.network !== undefined) {
        const source = child(iface, "source");
        if (source && iface.getAttribute("type") === "network") source.setAttribute("network", edits.network);
        if (source && iface.getAttribute("type") === "bridge") source.setAttribute("bridge", edits.network);
      }
    }
  }
  let out = new XMLSerializer().serializeToString(doc);
  for (const [label, file] of Object.entries(edits.diskFiles)) out = withDiskSource(out, label, file);
  return out;
}

export function xmlEscape(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("'", "&apos;");
}
