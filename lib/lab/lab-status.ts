import type { Db } from "@/lib/db/client";
import { listReplicas } from "@/lib/db/queries/replicas";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import { labSites } from "./estate";
import { readLabState } from "./lab-state";

export interface LabVmStatus {
  site: string;
  id: string;
  name: string;
  power: string;
  disks: string[];
}

export interface LabStatus {
  state: "absent" | "creating" | "ready";
  size?: string;
  vms: LabVmStatus[];
  replicas: { source: string; replica: string; state: string; restorePoints: number }[];
}

export async function labStatus(db: Db, labDir: string, guestCacheDir: string): Promise<LabStatus> {
  const state = readLabState(labDir);
  const vms: LabVmStatus[] = [];
  for (const site of [labSites.production, labSites.dr]) {
    const provider = new QemuProvider({ siteDir: `${labDir}/${site.folder}`, guestCacheDir });
    for (const vm of await provider.listVms()) {
      const layers = await provider.listSnapshots(vm.id);
      vms.push({
        site: site.name,
        id: vm.id,
        name: vm.name,
        power: await provider.powerState(vm.id),
        disks: vm.disks.map(
          (d) =>
            `${d.label} ${(d.sizeBytes / 1024 ** 2).toFixed(0)} MiB [${layers
              .filter((l) => l.disks.includes(d.label))
              .map((l) => l.name)
              .join(" ← ")}]`,
        ),
      });
    }
  }
  const labNames = new Set<string>([labSites.production.name, labSites.dr.name]);
  const replicas = (await listReplicas(db))
    .filter((r) => labNames.has(r.sourceSiteName))
    .map((r) => ({ source: r.sourceVmName, replica: r.replicaVmName, state: r.state, restorePoints: r.restorePoints }));
  return { state: state?.state ?? "absent", size: state?.size, vms, replicas };
}

export function formatLabStatus(status: LabStatus): string {
  if (status.state === "absent") return "No lab. Create one with: npm run lab -- create";
  const lines = [`Lab: ${status.state} (${status.size})`, ""];
  for (const vm of status.vms) {
    lines.push(`${vm.site.padEnd(18)} ${vm.id.padEnd(18)} ${vm.power.padEnd(8)} ${vm.disks.join("; ")}`);
  }
  lines.push("", "Replicas:");
  for (const r of status.replicas)
    lines.push(
      `  ${r.source.padEnd(12)} → ${r.replica.padEnd(22)} ${r.state.padEnd(16)} ${r.restorePoints} restore points`,
    );
  return lines.join("\n");
}
