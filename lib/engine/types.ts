// The engine's public shapes: what starting a failback takes, and who asks.
import type { targetKinds, switchModes } from "@/lib/db/schema";

export type TargetKind = (typeof targetKinds)[number];
export type SwitchMode = (typeof switchModes)[number];

/** Who asked, for the audit log: a user, or the engine itself ("engine"). */
export interface EngineActor {
  userId: string | null;
  label: string;
  clientIp?: string | null;
  userAgent?: string | null;
}

export const systemActor: EngineActor = { userId: null, label: "engine" };

export interface NewLocationOptions {
  hostId: string;
  /** The new VM's name (its id on the host is derived from it). */
  name: string;
  cpus?: number;
  memoryMib?: number;
  network?: string;
}

export interface FailbackItemRequest {
  replicaId: string;
  target: TargetKind;
  /** recovered: the VM already recovered elsewhere (inventory id). */
  recoveredVmId?: string;
  newLocation?: NewLocationOptions;
}

export interface StartFailbackRequest {
  items: FailbackItemRequest[];
  quickRollback: boolean;
  switchMode: SwitchMode;
  /** scheduled: a local date-time (YYYY-MM-DDTHH:mm) in `timeZone` (IANA). */
  switchAt?: { local: string; timeZone: string };
  powerOnAfter: boolean;
  /** Guest shutdown timeout of the replica at switch time; 15 minutes by default. */
  shutdownTimeoutSeconds?: number;
  reason?: string;
}
