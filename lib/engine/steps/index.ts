// Step kind → implementation.
import type { StepKind } from "../plans";
import { preflightAgain } from "./preflight";
import { powerOffProduction, powerOnProduction, powerOnReplica, shutdownReplica } from "./power";
import { keepRestorePoint, markReplicaState, restoreIdentity, stopTransfer, swapIdentity } from "./records";
import {
  commitWorkingSnapshot,
  createProtectiveSnapshot,
  createVmAtNewLocation,
  createWorkingSnapshot,
  discardWorkingSnapshot,
  mergeProtectiveSnapshot,
  revertReplica,
} from "./snapshots";
import type { StepImpl } from "./step";
import { calculateDifference, transferChangesSincePhase1, transferPhase1 } from "./transfer";
import { verifyProduction } from "./verify";

export const stepImpls: Record<StepKind, StepImpl> = {
  preflight_again: preflightAgain,
  power_off_production: powerOffProduction,
  create_vm_at_new_location: createVmAtNewLocation,
  create_working_snapshot: createWorkingSnapshot,
  create_protective_snapshot: createProtectiveSnapshot,
  calculate_difference: calculateDifference,
  transfer_changes: transferPhase1,
  transfer_all: transferPhase1,
  commit_working_snapshot: commitWorkingSnapshot,
  discard_working_snapshot: discardWorkingSnapshot,
  shutdown_replica: shutdownReplica,
  transfer_changes_since_phase1: transferChangesSincePhase1,
  merge_protective_snapshot: mergeProtectiveSnapshot,
  verify_production: verifyProduction,
  mark_replica_state: markReplicaState,
  swap_identity: swapIdentity,
  power_on_production: powerOnProduction,
  keep_restore_point: keepRestorePoint,
  revert_replica: revertReplica,
  power_on_replica: powerOnReplica,
  stop_transfer: stopTransfer,
  restore_identity: restoreIdentity,
};
