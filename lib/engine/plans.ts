// The step plans of failback-behaviour.md, as data. The runner executes them one step at a time; each step is
// an idempotent "ensure" on the hypervisor, so a retry or a resume after a crash repeats nothing.
import type { stepPhases, targetKinds } from "@/lib/db/schema";

export type StepPhase = (typeof stepPhases)[number];
export type TargetKind = (typeof targetKinds)[number];

export const stepKinds = [
  "preflight_again",
  "power_off_production",
  "create_vm_at_new_location",
  "create_working_snapshot",
  "create_protective_snapshot",
  "calculate_difference",
  "transfer_changes",
  "transfer_all",
  "commit_working_snapshot",
  "discard_working_snapshot",
  "shutdown_replica",
  "transfer_changes_since_phase1",
  "merge_protective_snapshot",
  "verify_production",
  "mark_replica_state",
  "swap_identity",
  "power_on_production",
  "keep_restore_point",
  "revert_replica",
  "power_on_replica",
  "stop_transfer",
  "restore_identity",
] as const;
export type StepKind = (typeof stepKinds)[number];

export type SnapshotSlot = "work1" | "protect1" | "work2" | "protect2";

export interface PlannedStep {
  kind: StepKind;
  /** Shown in the timeline, in the behaviour page's words. */
  title: string;
  /** Which deterministic snapshot the step acts on, when it acts on one. */
  snapshot?: SnapshotSlot;
  /** For mark_replica_state. */
  replicaState?: "ready" | "failover" | "ready_to_switch" | "failback";
  /** Long steps checkpoint per block range and report progress. */
  long?: boolean;
  /** When the step is skipped for this item (it stays in the plan, marked skipped, so the timeline is honest). */
  skipWhen?: "not_recovered_or_new" | "no_power_on";
}

export interface PlanOptions {
  target: TargetKind;
  quickRollback: boolean;
  powerOnAfter: boolean;
}

/**
 * Phase 1 begins by checking again, in the worker and on fresh facts from the hosts, what the start checked:
 * the hosts may have changed between the request and the moment a worker takes it up.
 */
const preflightAgain: PlannedStep = {
  kind: "preflight_again",
  title: "Check the hosts again (pre-flight on fresh facts)",
};

export function phase1Plan(options: PlanOptions): PlannedStep[] {
  if (options.target === "new_location") {
    return [
      preflightAgain,
      {
        kind: "create_vm_at_new_location",
        title: "Create the VM at the new location from the replica's configuration",
      },
      {
        kind: "create_working_snapshot",
        title: "Create the working failback snapshot on the new VM",
        snapshot: "work1",
      },
      {
        kind: "create_protective_snapshot",
        title: "Create the protective snapshot on the replica (it keeps running)",
        snapshot: "protect1",
      },
      { kind: "transfer_all", title: "Copy all replica data (zero regions travel as commands)", long: true },
      {
        kind: "commit_working_snapshot",
        title: "Remove the working snapshot, committing its delta",
        snapshot: "work1",
      },
      { kind: "mark_replica_state", title: "Replica is ready to switch", replicaState: "ready_to_switch" },
    ];
  }
  return [
    preflightAgain,
    { kind: "power_off_production", title: "Power off the production VM if it runs" },
    {
      kind: "create_working_snapshot",
      title: "Create the working failback snapshot on the production VM",
      snapshot: "work1",
    },
    {
      kind: "create_protective_snapshot",
      title: "Create the protective snapshot on the replica (it keeps running)",
      snapshot: "protect1",
    },
    {
      kind: "calculate_difference",
      title: options.quickRollback
        ? "Find the changed regions by CBT (quick rollback)"
        : "Calculate the difference between production and the frozen replica disks",
    },
    { kind: "transfer_changes", title: "Transfer the differing blocks into the working snapshot", long: true },
    { kind: "commit_working_snapshot", title: "Remove the working snapshot, committing its delta", snapshot: "work1" },
    { kind: "mark_replica_state", title: "Replica is ready to switch", replicaState: "ready_to_switch" },
  ];
}

export function phase2Plan(options: PlanOptions): PlannedStep[] {
  return [
    {
      kind: "create_working_snapshot",
      title: "Create the working failback snapshot on the production VM",
      snapshot: "work2",
    },
    { kind: "shutdown_replica", title: "Shut down the replica (guest shutdown, then power off)" },
    {
      kind: "create_protective_snapshot",
      title: "Create the replica's switch-time protective snapshot",
      snapshot: "protect2",
    },
    { kind: "transfer_changes_since_phase1", title: "Send the data the replica changed since phase 1", long: true },
    {
      kind: "merge_protective_snapshot",
      title: "Remove the phase-1 protective snapshot from the replica",
      snapshot: "protect1",
    },
    { kind: "commit_working_snapshot", title: "Remove the working snapshot, committing its delta", snapshot: "work2" },
    {
      kind: "verify_production",
      title: "Verify every production block against the replica at switch time",
      long: true,
    },
    {
      kind: "mark_replica_state",
      title: "Replica state: failback (production CBT starts afresh)",
      replicaState: "failback",
    },
    {
      kind: "swap_identity",
      title: "The new VM takes over the production identity",
      skipWhen: options.target === "original" ? "not_recovered_or_new" : undefined,
    },
    {
      kind: "power_on_production",
      title: "Power on the production VM",
      skipWhen: options.powerOnAfter ? undefined : "no_power_on",
    },
  ];
}

export function commitPlan(): PlannedStep[] {
  return [
    {
      kind: "keep_restore_point",
      title: "Keep the switch-time snapshot as a replica restore point",
      snapshot: "protect2",
    },
    { kind: "mark_replica_state", title: "Replica state: ready (replication resumes)", replicaState: "ready" },
  ];
}

/** Undo after switch: production off, the replica back to its switch-time state and running. */
export function undoAfterSwitchPlan(options: PlanOptions): PlannedStep[] {
  return [
    { kind: "power_off_production", title: "Power off the production VM" },
    // Undo may start from an item stopped mid-switch: whatever phase 2 left is taken apart in order.
    {
      kind: "discard_working_snapshot",
      title: "Discard the production working snapshot if one is left",
      snapshot: "work2",
    },
    { kind: "revert_replica", title: "Revert the replica to its switch-time snapshot", snapshot: "protect2" },
    {
      kind: "merge_protective_snapshot",
      title: "Merge the phase-1 protective snapshot if it is still there",
      snapshot: "protect1",
    },
    {
      kind: "restore_identity",
      title: "The original VM is production again",
      skipWhen: options.target === "original" ? "not_recovered_or_new" : undefined,
    },
    { kind: "power_on_replica", title: "Power on the replica" },
    { kind: "mark_replica_state", title: "Replica state: failover", replicaState: "failover" },
  ];
}

/** Undo from ready_to_switch: the replica keeps running; its phase-1 snapshot is merged back. */
export function undoBeforeSwitchPlan(): PlannedStep[] {
  return [
    {
      kind: "discard_working_snapshot",
      title: "Discard the production working snapshot if one is left",
      snapshot: "work1",
    },
    {
      kind: "merge_protective_snapshot",
      title: "Merge the phase-1 protective snapshot back (the replica keeps running)",
      snapshot: "protect1",
    },
    { kind: "mark_replica_state", title: "Replica state: failover", replicaState: "failover" },
  ];
}

/** Cancel during phase 1: stop at a safe point; production base disks stay untouched. */
export function cancelPhase1Plan(): PlannedStep[] {
  return [
    { kind: "stop_transfer", title: "Stop the transfer at a safe point" },
    { kind: "discard_working_snapshot", title: "Discard the production working snapshot", snapshot: "work1" },
    {
      kind: "merge_protective_snapshot",
      title: "Merge the replica's phase-1 protective snapshot",
      snapshot: "protect1",
    },
    { kind: "mark_replica_state", title: "Replica state stays failover", replicaState: "failover" },
  ];
}

/** The plans an item runs, by name (stored on the item while it runs). */
export const planNames = [
  "phase1",
  "phase2",
  "commit",
  "undo_after_switch",
  "undo_before_switch",
  "cancel_phase1",
] as const;
export type RunnablePlan = (typeof planNames)[number];

export function stepsOf(plan: RunnablePlan, options: PlanOptions): PlannedStep[] {
  switch (plan) {
    case "phase1":
      return phase1Plan(options);
    case "phase2":
      return phase2Plan(options);
    case "commit":
      return commitPlan();
    case "undo_after_switch":
      return undoAfterSwitchPlan(options);
    case "undo_before_switch":
      return undoBeforeSwitchPlan();
    case "cancel_phase1":
      return cancelPhase1Plan();
  }
}

/** Where a plan's steps are recorded (failback_steps.phase). An item runs at most one undo or cancel. */
export function phaseOf(plan: RunnablePlan): StepPhase {
  switch (plan) {
    case "phase1":
    case "phase2":
    case "commit":
      return plan;
    case "undo_after_switch":
    case "undo_before_switch":
      return "undo";
    case "cancel_phase1":
      return "cancel";
  }
}

export function isRunnablePlan(name: string | null): name is RunnablePlan {
  return name !== null && (planNames as readonly string[]).includes(name);
}

/** The title a recorded step is shown with (steps are stored by kind; titles depend on the item's options). */
export function titleOfStep(phase: StepPhase, kind: string, options: PlanOptions): string {
  const plans: RunnablePlan[] =
    phase === "undo"
      ? ["undo_after_switch", "undo_before_switch"]
      : phase === "cancel"
        ? ["cancel_phase1"]
        : [phase as RunnablePlan];
  for (const plan of plans) {
    const found = stepsOf(plan, options).find((s) => s.kind === kind);
    if (found) return found.title;
  }
  return kind.replace(/_/g, " ");
}
