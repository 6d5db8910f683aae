// The provider operations the kill -9 sweep runs in a child process (run-operation.ts) and re-runs in-process.
import type { Provider, SnapshotKind } from "../types";

export type ProviderOperation =
  | { op: "ensureSnapshot"; vmId: string; name: string; kind: SnapshotKind }
  | { op: "removeSnapshotKeepingChanges"; vmId: string; name: string }
  | { op: "removeSnapshotDiscardingChanges"; vmId: string; name: string };

export function runOperation(provider: Provider, operation: ProviderOperation): Promise<void> {
  switch (operation.op) {
    case "ensureSnapshot":
      return provider.ensureSnapshot(operation.vmId, operation.name, operation.kind);
    case "removeSnapshotKeepingChanges":
      return provider.removeSnapshotKeepingChanges(operation.vmId, operation.name);
    case "removeSnapshotDiscardingChanges":
      return provider.removeSnapshotDiscardingChanges(operation.vmId, operation.name);
  }
}

export const describeOperation = (o: ProviderOperation) =>
  `${o.op}(${o.vmId}, ${o.name}${o.op === "ensureSnapshot" ? `, ${o.kind}` : ""})`;
