// failback start --replica ID … : starts a failback through POST /api/v1/sessions.
import type { Replica, StartedFailback } from "../api-types";
import type { ApiClient } from "../api-client";
import { CliError } from "../cli-error";
import { listOption, type Command } from "../command";
import { startOptions, startRequestFrom } from "../start-request";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A replica id as given, or the id of the replica whose VM has exactly this name (handy in runbooks). */
async function resolveReplica(client: ApiClient, value: string): Promise<string> {
  if (uuidPattern.test(value)) return value;
  const { replicas } = await client.get<{ replicas: Replica[] }>(`/api/v1/replicas?name=${encodeURIComponent(value)}`);
  const matches = replicas.filter(
    (r) =>
      r.sourceVmName.toLowerCase() === value.toLowerCase() || r.replicaVmName.toLowerCase() === value.toLowerCase(),
  );
  if (matches.length === 0) throw new CliError("NOT_FOUND", `No replica of a VM named ${value}.`);
  if (matches.length > 1)
    throw new CliError("VALIDATION", `${matches.length} replicas match ${value}; give the replica id instead.`);
  return (matches[0] as Replica).id;
}

export const start: Command = {
  name: "start",
  summary: "Start a failback of one or more replicas.",
  help: `failback start --replica ID|VM-NAME [--replica …] [options] [--json]

  --target original|recovered|new_location   Where production runs afterwards (default original).
  --recovered-vm ID        target recovered: the recovered VM, once per --replica.
  --new-host ID            target new_location: the host (once, or once per --replica).
  --new-name NAME          target new_location: the new VM's name, once per --replica.
  --new-cpus N  --new-memory-mib N  --new-network NAME   target new_location: overrides.
  --quick-rollback         Carry back only the blocks changed since failover (original target).
  --switch auto|scheduled|manual   When phase 2 (the switch) runs (default manual; scheduled with --at).
  --at "YYYY-MM-DDTHH:mm"  The scheduled switch time, as a wall-clock time in --zone.
  --zone ZONE              IANA time zone of --at (default this machine's, e.g. Europe/Berlin).
  --no-power-on            Leave production powered off after the switch.
  --shutdown-timeout SECONDS   How long the replica may take to shut down at switch time (default 900).
  --reason TEXT            Recorded with the session and in the audit log.`,
  options: startOptions,
  async run({ out, values, client }) {
    const given = listOption(values, "replica");
    const body = startRequestFrom(values, given, Intl.DateTimeFormat().resolvedOptions().timeZone);
    const ids: string[] = [];
    for (const value of given) ids.push(await resolveReplica(client(), value));
    (body.items as { replicaId: string }[]).forEach((item, i) => (item.replicaId = ids[i] as string));
    const started = await client().post<StartedFailback>("/api/v1/sessions", body);
    out.result(started, () => {
      const lines = [
        `Started failback session ${started.sessionId} for ${started.itemIds.length} VM${started.itemIds.length === 1 ? "" : "s"}.`,
      ];
      if (started.runAt) lines.push(`The switch is scheduled for ${started.runAt}.`);
      for (const check of started.preflight)
        for (const warning of check.warnings) lines.push(`warning: ${check.replicaName}: ${warning}`);
      lines.push(`Follow it with: failback status ${started.sessionId} --follow`);
      return lines.join("\n");
    });
  },
};
