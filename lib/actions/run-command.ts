"use server";
// The dashboard's one server action for every command of the catalogue. A button or form binds the command's
// name (`runCommand.bind(null, "commit")`); the name is checked against the catalogue, and the command's own
// permission, schema and audit action apply (lib/actions/dashboard-command.ts).
import { commandNamed, type CommandName, type CatalogCommand } from "@/lib/commands/catalog";
import type { ActionResult } from "@/lib/errors";
import { runDashboardCommand } from "./dashboard-command";

export type ResultOf<N extends CommandName> = Awaited<ReturnType<CatalogCommand<N>["run"]>>;

export async function runCommand<N extends CommandName>(
  name: N,
  _previous: unknown,
  raw: unknown,
): Promise<ActionResult<ResultOf<N>>> {
  const command = commandNamed(String(name));
  if (!command) return { ok: false, code: "NOT_FOUND", message: "No such command." };
  return runDashboardCommand<ResultOf<N>>(command, raw);
}
