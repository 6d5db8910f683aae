// Turning `failback start` options into the API's start request. Per-VM options (--recovered-vm, --new-name,
// --new-host) pair with the --replica options in the order given; one --new-host serves every VM.
import { usageError } from "./cli-error";
import { choiceOption, integerOption, listOption, stringOption, type OptionValues } from "./command";

export const targets = ["original", "recovered", "new_location"] as const;
export const switchModes = ["auto", "scheduled", "manual"] as const;

export const startOptions = {
  replica: { type: "string", multiple: true },
  target: { type: "string" },
  "recovered-vm": { type: "string", multiple: true },
  "new-host": { type: "string", multiple: true },
  "new-name": { type: "string", multiple: true },
  "new-cpus": { type: "string" },
  "new-memory-mib": { type: "string" },
  "new-network": { type: "string" },
  "quick-rollback": { type: "boolean" },
  switch: { type: "string" },
  at: { type: "string" },
  zone: { type: "string" },
  "no-power-on": { type: "boolean" },
  "shutdown-timeout": { type: "string" },
  reason: { type: "string" },
} as const;

function paired(values: OptionValues, name: string, count: number, allowOne: boolean): string[] {
  const given = listOption(values, name);
  if (allowOne && given.length === 1) return Array.from({ length: count }, () => given[0] as string);
  if (given.length !== count)
    throw usageError(
      `Give --${name} once per --replica (${count}), in the same order${allowOne ? ", or once for all" : ""}.`,
    );
  return given;
}

/** The request body; `replicaIds` are the --replica values already resolved to ids. */
export function startRequestFrom(
  values: OptionValues,
  replicaIds: string[],
  defaultZone: string,
): Record<string, unknown> {
  if (replicaIds.length === 0)
    throw usageError("Choose at least one replica with --replica ID (repeat it for several).");
  const target = choiceOption(values, "target", targets) ?? "original";
  const at = stringOption(values, "at");
  const switchMode = choiceOption(values, "switch", switchModes) ?? (at ? "scheduled" : "manual");
  if (switchMode === "scheduled" && !at)
    throw usageError('--switch scheduled needs --at "YYYY-MM-DDTHH:mm" (and --zone, default ' + defaultZone + ").");
  if (switchMode !== "scheduled" && at) throw usageError("--at is for --switch scheduled.");

  const recovered = target === "recovered" ? paired(values, "recovered-vm", replicaIds.length, false) : [];
  const newHosts = target === "new_location" ? paired(values, "new-host", replicaIds.length, true) : [];
  const newNames = target === "new_location" ? paired(values, "new-name", replicaIds.length, false) : [];
  const cpus = integerOption(values, "new-cpus", 1, 64);
  const memoryMib = integerOption(values, "new-memory-mib", 16, 1_048_576);
  const network = stringOption(values, "new-network");

  const items = replicaIds.map((replicaId, i) => ({
    replicaId,
    target,
    ...(target === "recovered" ? { recoveredVmId: recovered[i] } : {}),
    ...(target === "new_location"
      ? {
          newLocation: {
            hostId: newHosts[i],
            name: newNames[i],
            ...(cpus ? { cpus } : {}),
            ...(memoryMib ? { memoryMib } : {}),
            ...(network ? { network } : {}),
          },
        }
      : {}),
  }));
  const shutdownTimeoutSeconds = integerOption(values, "shutdown-timeout", 0, 86_400);
  const reason = stringOption(values, "reason");
  return {
    items,
    quickRollback: values["quick-rollback"] === true,
    switchMode,
    ...(at ? { switchAt: { local: at, timeZone: stringOption(values, "zone") ?? defaultZone } } : {}),
    powerOnAfter: values["no-power-on"] !== true,
    ...(shutdownTimeoutSeconds !== undefined ? { shutdownTimeoutSeconds } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}
