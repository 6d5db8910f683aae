// The wizard's draft and the start request built from it (the engine's startFailbackSchema shape). Kept apart
// from the components so the request that is reviewed is, byte for byte, the one that is started.
import type { FieldErrors } from "@/lib/errors";

export type TargetKind = "original" | "recovered" | "new_location";
export type SwitchMode = "auto" | "scheduled" | "manual";

/** A chosen replica as the wizard shows it, with what the first pre-flight said about it. */
export interface WizardReplicaView {
  id: string;
  state: string;
  sourceVmName: string;
  sourceSiteName: string;
  replicaVmName: string;
  cpus: number;
  memoryMib: number;
  sizeBytes: number;
  disks: { label: string; sizeBytes: number }[];
  quickRollback: { allowed: boolean; reason?: string };
  /** Refusals from the pre-flight made when the wizard opened (e.g. not in failover any more). */
  refusals: string[];
  warnings: string[];
}

export interface ItemDraft {
  replicaId: string;
  target: TargetKind;
  recoveredVmId: string;
  hostId: string;
  name: string;
  cpus: string;
  memoryMib: string;
  network: string;
}

export interface WizardDraft {
  items: ItemDraft[];
  quickRollback: boolean;
  switchMode: SwitchMode;
  switchLocal: string;
  powerOnAfter: boolean;
  shutdownMinutes: string;
  reason: string;
}

export function initialDraft(replicas: WizardReplicaView[]): WizardDraft {
  return {
    items: replicas.map((r) => ({
      replicaId: r.id,
      target: "original",
      recoveredVmId: "",
      hostId: "",
      name: `${r.sourceVmName}-restored`,
      cpus: String(r.cpus),
      memoryMib: String(r.memoryMib),
      network: "",
    })),
    quickRollback: false,
    switchMode: "manual",
    switchLocal: "",
    // The reference product's default: 15 minutes for the guest to shut down.
    powerOnAfter: true,
    shutdownMinutes: "15",
    reason: "",
  };
}

/** A number when the text is one; otherwise the text itself, so the server says what is wrong with it. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== "" && Number.isFinite(value) ? value : trimmed;
}

export function buildRequest(draft: WizardDraft, timeZone: string): Record<string, unknown> {
  const minutes = numberOrText(draft.shutdownMinutes);
  return {
    items: draft.items.map((item) => {
      const out: Record<string, unknown> = { replicaId: item.replicaId, target: item.target };
      if (item.target === "recovered" && item.recoveredVmId) out.recoveredVmId = item.recoveredVmId;
      if (item.target === "new_location") {
        const where: Record<string, unknown> = { hostId: item.hostId, name: item.name };
        if (item.cpus.trim()) where.cpus = numberOrText(item.cpus);
        if (item.memoryMib.trim()) where.memoryMib = numberOrText(item.memoryMib);
        if (item.network.trim()) where.network = item.network.trim();
        out.newLocation = where;
      }
      return out;
    }),
    quickRollback: draft.quickRollback,
    switchMode: draft.switchMode,
    ...(draft.switchMode === "scheduled" ? { switchAt: { local: draft.switchLocal, timeZone } } : {}),
    powerOnAfter: draft.powerOnAfter,
    shutdownTimeoutSeconds: typeof minutes === "number" ? Math.round(minutes * 60) : minutes,
    reason: draft.reason,
  };
}

/** Field errors by key ("items.0.newLocation.name"), and every one under a prefix. */
export function errorLookup(errors: FieldErrors | undefined) {
  const all = errors ?? {};
  return {
    at: (key: string) => all[key],
    under: (prefix: string) =>
      Object.entries(all)
        .filter(([key]) => key === prefix || key.startsWith(`${prefix}.`))
        .flatMap(([, messages]) => messages),
  };
}
export type ErrorLookup = ReturnType<typeof errorLookup>;

const fieldNames: Record<string, string> = {
  replicaId: "replica",
  target: "target",
  recoveredVmId: "recovered VM",
  newLocation: "new location",
  "newLocation.hostId": "host",
  "newLocation.name": "new VM name",
  "newLocation.cpus": "CPUs",
  "newLocation.memoryMib": "memory",
  "newLocation.network": "network",
  quickRollback: "quick rollback",
};

const sessionFieldNames: Record<string, string> = {
  items: "Replicas",
  quickRollback: "Quick rollback",
  switchMode: "Switch mode",
  switchAt: "Switch time",
  "switchAt.local": "Switch time",
  "switchAt.timeZone": "Time zone",
  powerOnAfter: "Power on",
  shutdownTimeoutSeconds: "Guest shutdown timeout",
  reason: "Reason",
};

/** "e2e-05, host" for items.0.newLocation.hostId: where a summarised error belongs. */
export function fieldLabel(key: string, replicas: WizardReplicaView[]): string | null {
  const match = /^items\.(\d+)\.(.+)$/.exec(key);
  if (match) {
    const name = replicas[Number(match[1])]?.sourceVmName ?? `Replica ${Number(match[1]) + 1}`;
    return `${name}, ${fieldNames[match[2] as string] ?? (match[2] as string)}`;
  }
  return sessionFieldNames[key] ?? null;
}
