// failback start|check --replica ID … : a failback request built from options, sent to the catalogue entry's
// route (start: POST /api/v1/sessions; check: POST /api/v1/sessions/check, which starts nothing).
import type { AnyCommand } from "@/lib/commands/define";
import type { FailbackReview } from "@/lib/commands/failback-commands";
import type { Replica, StartedFailback } from "../api-types";
import type { ApiClient } from "../api-client";
import { CliError } from "../cli-error";
import { listOption, type Command, type CommandContext } from "../command";
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

const optionsHelp = `

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
  --reason TEXT            Recorded with the session and in the audit log.`;

/** The request from the options, with VM names resolved to replica ids. */
async function requestFrom({ values, client }: CommandContext): Promise<Record<string, unknown>> {
  const given = listOption(values, "replica");
  const body = startRequestFrom(values, given, Intl.DateTimeFormat().resolvedOptions().timeZone);
  const ids: string[] = [];
  for (const value of given) ids.push(await resolveReplica(client(), value));
  (body.items as { replicaId: string }[]).forEach((item, i) => (item.replicaId = ids[i] as string));
  return body;
}

export function startCommand(entry: AnyCommand): Command {
  return {
    name: entry.name,
    summary: entry.summary,
    help: `failback ${entry.name} --replica ID|VM-NAME [--replica …] [options] [--json]\n${optionsHelp}`,
    options: startOptions,
    async run(ctx) {
      const started = await ctx.client().post<StartedFailback>(`/api/v1${entry.http?.path}`, await requestFrom(ctx));
      ctx.out.result(started, () => {
        const n = started.itemIds.length;
        const lines = [`Started failback session ${started.sessionId} for ${n} VM${n === 1 ? "" : "s"}.`];
        if (started.runAt) lines.push(`The switch is scheduled for ${started.runAt}.`);
        for (const check of started.preflight)
          for (const warning of check.warnings) lines.push(`warning: ${check.replicaName}: ${warning}`);
        lines.push(`Follow it with: failback status ${started.sessionId} --follow`);
        return lines.join("\n");
      });
    },
  };
}

export function checkCommand(entry: AnyCommand): Command {
  return {
    name: entry.name,
    summary: entry.summary,
    help: `failback ${entry.name} --replica ID|VM-NAME [--replica …] [options] [--json]\n\n  The same options as start; nothing is started.\n${optionsHelp}`,
    options: startOptions,
    async run(ctx) {
      const review = await ctx.client().post<FailbackReview>(`/api/v1${entry.http?.path}`, await requestFrom(ctx));
      ctx.out.result(review, () => {
        const lines = [review.ok ? "The failback can start." : "The failback cannot start:"];
        for (const [field, messages] of Object.entries(review.fieldErrors))
          for (const message of messages) lines.push(`  ${field}: ${message}`);
        for (const check of review.preflight) {
          const quick = check.quickRollback.allowed ? "possible" : `not possible (${check.quickRollback.reason})`;
          lines.push(`${check.replicaName}: quick rollback ${quick}`);
          for (const warning of check.warnings) lines.push(`  warning: ${warning}`);
        }
        if (review.runAt) lines.push(`The switch would run at ${review.runAt}.`);
        return lines.join("\n");
      });
    },
  };
}
