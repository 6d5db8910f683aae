// Phase 1's first step: the start's pre-flight again, in the worker, on facts fresh from the hosts (free space,
// change tracking for quick rollback, the target still there). A refusal stops the VM before anything was
// written: it needs attention with the reason, and cancel leaves everything as it was.
import { noFacts } from "../preflight/facts";
import { collectPreflightFacts } from "../preflight/collect-facts";
import { preflightItem, withFacts } from "../preflight/checks";
import type { FailbackItemRequest, NewLocationOptions } from "../types";
import { PermanentStepError, type StepImpl } from "./step";

export const preflightAgain: StepImpl = async ({ ctx, db }) => {
  const { item, session } = ctx;
  const request: FailbackItemRequest = {
    replicaId: item.replicaId,
    target: item.targetKind,
    recoveredVmId: item.targetKind === "recovered" ? (item.targetVmId ?? undefined) : undefined,
    newLocation: item.targetKind === "new_location" ? (item.targetOptions as unknown as NewLocationOptions) : undefined,
  };
  const checked = await preflightItem(db, request, 0, session.quickRollback, { ownItemId: item.id });
  // The hosts are asked only when the database checks pass, as at the start.
  const [facts] = checked.ok ? await collectPreflightFacts(db, [request]) : [];
  const result = checked.ok ? withFacts(checked, 0, session.quickRollback, facts ?? noFacts) : checked;
  if (!result.ok) {
    throw new PermanentStepError(
      `Pre-flight refused on fresh facts: ${result.refusals.map((r) => r.message).join(" ")}`,
    );
  }
  return {
    detail: {
      spaceNeededBytes: result.spaceNeededBytes,
      spaceFreeBytes: result.spaceFreeBytes,
      quickRollback: result.quickRollback.allowed,
      warnings: result.warnings,
    },
  };
};
