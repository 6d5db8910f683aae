// The command catalogue: every command the product offers, once. The dashboard's server action
// (lib/actions/run-command.ts), the /api/v1 routes (lib/api/command-route.ts), the OpenAPI document
// (lib/api/openapi.ts) and the command line (lib/cli/catalog-commands.ts) are all read off this list.
// To add a command: write its entry (lib/commands/*-commands.ts) and list it here; then add its one-line route
// file if it has an http route. lib/commands/catalog.test.ts checks that every surface offers exactly these.
import {
  changeUserRoleCommand,
  createTokenCommand,
  createUserCommand,
  revokeTokenCommand,
  setUserDisabledCommand,
} from "./account-commands";
import type { AnyCommand } from "./define";
import {
  cancelCommand,
  cancelScheduleCommand,
  changeSwitchTimeCommand,
  checkFailbackCommand,
  commitCommand,
  retryCommand,
  startFailbackCommand,
  switchNowCommand,
  undoCommand,
} from "./failback-commands";

export const catalog = {
  check: checkFailbackCommand,
  start: startFailbackCommand,
  "switch-now": switchNowCommand,
  reschedule: changeSwitchTimeCommand,
  "cancel-schedule": cancelScheduleCommand,
  commit: commitCommand,
  undo: undoCommand,
  cancel: cancelCommand,
  retry: retryCommand,
  "create-user": createUserCommand,
  "change-user-role": changeUserRoleCommand,
  "set-user-disabled": setUserDisabledCommand,
  "create-token": createTokenCommand,
  "revoke-token": revokeTokenCommand,
} as const;

export type CommandName = keyof typeof catalog;
export type CatalogCommand<N extends CommandName> = (typeof catalog)[N];

export const commandNames = Object.keys(catalog) as CommandName[];

/** The entry of a name from outside (a form, a URL), or undefined for a name that is not a command. */
export function commandNamed(name: string): AnyCommand | undefined {
  return Object.hasOwn(catalog, name) ? (catalog[name as CommandName] as unknown as AnyCommand) : undefined;
}

/** An entry by its (known) name, as the executor takes it. */
export function commandOf(name: CommandName): AnyCommand {
  return catalog[name] as unknown as AnyCommand;
}

export function allCommands(): AnyCommand[] {
  return commandNames.map(commandOf);
}
