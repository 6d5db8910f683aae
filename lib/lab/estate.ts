// The demo estate: which VMs the lab builds, with how many disks, and which run the tiny guest.
export type LabSize = "demo" | "small";

export interface LabVm {
  id: string;
  name: string;
  /** Runs the tiny Linux guest, which shuts down gracefully on request. */
  tinyGuest: boolean;
  /** Declares a guest agent. A VM that declares one without an OS shows the shutdown-timeout path. */
  guestAgent: boolean;
  /** Disk sizes in units: GiB for the demo, 16 MiB for the small lab (tests). */
  diskUnits: number[];
}

export const labVms: LabVm[] = [
  { id: "web-01", name: "web-01", tinyGuest: true, guestAgent: true, diskUnits: [1] },
  { id: "db-01", name: "db-01", tinyGuest: true, guestAgent: true, diskUnits: [2, 1] },
  { id: "app-01", name: "app-01", tinyGuest: false, guestAgent: false, diskUnits: [2] },
  { id: "files-01", name: "files-01", tinyGuest: false, guestAgent: false, diskUnits: [4, 2, 1] },
  { id: "mail-01", name: "mail-01", tinyGuest: false, guestAgent: true, diskUnits: [1] },
  { id: "dc-01", name: "dc-01", tinyGuest: false, guestAgent: false, diskUnits: [1, 1, 1, 1] },
];

export function diskBytes(size: LabSize, units: number): number {
  return size === "demo" ? units * 1024 ** 3 : units * 16 * 1024 ** 2;
}

export const replicaVmId = (vmId: string) => `${vmId}-replica`;
export const diskLabel = (index: number) => `vd${String.fromCharCode(97 + index)}`;

export const labSites = {
  production: { name: "Production (lab)", folder: "production", host: "prod-qemu-01" },
  dr: { name: "DR site (lab)", folder: "dr", host: "dr-qemu-01" },
} as const;
