// The session commands: switch-now, reschedule, cancel-schedule, commit, undo, cancel, retry — each one POST
// to /api/v1/sessions/<id>/<command>, for the whole session or (--item) one VM of it.
import type { CommandResult } from "../api-types";
import { usageError } from "../cli-error";
import { sessionIdArgument, sessionPath, stringOption, type Command, type CommandContext } from "../command";

function itemBody(ctx: CommandContext): Record<string, unknown> {
  const itemId = stringOption(ctx.values, "item");
  return itemId ? { itemId } : {};
}

function rescheduleBody(ctx: CommandContext): Record<string, unknown> {
  const local = stringOption(ctx.values, "at");
  if (!local) throw usageError('reschedule needs --at "YYYY-MM-DDTHH:mm" (and --zone, default this machine\'s).');
  return { local, timeZone: stringOption(ctx.values, "zone") ?? Intl.DateTimeFormat().resolvedOptions().timeZone };
}

function sessionCommand(
  name: string,
  summary: string,
  body: (ctx: CommandContext) => Record<string, unknown>,
  options: Command["options"],
  extraHelp: string,
): Command {
  return {
    name,
    summary,
    help: `failback ${name} <session>${extraHelp} [--json]`,
    options,
    async run(ctx) {
      const sessionId = sessionIdArgument(ctx.positionals, name);
      const result = await ctx.client().post<CommandResult>(`${sessionPath(sessionId)}/${name}`, body(ctx));
      ctx.out.result(
        result,
        () => result.message + (result.schedule ? ` New switch time: ${result.schedule.runAt}.` : ""),
      );
    },
  };
}

const item = { item: { type: "string" } } as const;
const itemHelp = " [--item ITEM-ID]";

export const sessionCommands: Command[] = [
  sessionCommand("switch-now", "Switch now (phase 2) for the VMs waiting to switch.", itemBody, item, itemHelp),
  sessionCommand(
    "reschedule",
    "Change the scheduled switch time (--at, --zone).",
    rescheduleBody,
    { at: { type: "string" }, zone: { type: "string" } },
    ' --at "YYYY-MM-DDTHH:mm" [--zone ZONE]',
  ),
  sessionCommand("cancel-schedule", "Cancel the scheduled switch (switch manually afterwards).", () => ({}), {}, ""),
  sessionCommand("commit", "Commit switched VMs (the end of the failback).", itemBody, item, itemHelp),
  sessionCommand("undo", "Undo: production off, the replicas run again.", itemBody, item, itemHelp),
  sessionCommand("cancel", "Cancel phase 1.", itemBody, item, itemHelp),
  sessionCommand("retry", "Retry the stopped step of VMs that need attention.", itemBody, item, itemHelp),
];
