// A command of the catalogue as a form action, for server and client components alike:
// `useActionState(commandAction("create-token"), null)`, `<ConfirmAction action={commandAction("commit")} …>`.
import type { CommandName } from "@/lib/commands/catalog";
import type { ActionResult } from "@/lib/errors";
import { runCommand, type ResultOf } from "./run-command";

export type CommandAction<N extends CommandName> = (
  previous: unknown,
  raw: unknown,
) => Promise<ActionResult<ResultOf<N>>>;

export function commandAction<N extends CommandName>(name: N): CommandAction<N> {
  return runCommand.bind(null, name) as CommandAction<N>;
}
