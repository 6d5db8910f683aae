// The command line's entry: parse `<command> [options]`, run it, map the outcome to an exit code
// (0 done · 1 other · 2 usage · 3 unauthenticated/forbidden · 4 not found · 5 invalid state/conflict · 6 validation).
import { parseArgs } from "node:util";
import { CliError, exitCodes } from "./cli-error";
import { catalogCliCommands } from "./catalog-commands";
import { clientFor, type Command } from "./command";
import { login } from "./commands/login";
import { replicas } from "./commands/replicas";
import { status } from "./commands/status";
import type { CliIo } from "./io";
import { Output } from "./output";

/** Reading and signing in, then every command of the catalogue offered on the command line. */
export const commands: Command[] = [login, replicas, status, ...catalogCliCommands()];

const globalOptions = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;

export function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: failback <command> [options]   (npm run failback -- <command> …)",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --json (machine-readable output; errors as JSON on stderr) and --help.",
    "Exit codes: 0 done, 1 other error, 2 usage, 3 unauthenticated/forbidden, 4 not found,",
    "            5 invalid state/conflict, 6 validation.",
  ].join("\n");
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  const wantsJson = rest.includes("--json");
  const out = new Output(io, wantsJson);
  if (!name || name === "help" || name === "--help" || name === "-h") {
    io.stdout(overview() + "\n");
    return name ? exitCodes.done : exitCodes.usage;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    out.error(new CliError("USAGE", `Unknown command ${name}. Run failback --help for the list.`));
    return exitCodes.usage;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...command.options, ...globalOptions },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw new CliError("USAGE", `${(err as Error).message}\n\n${command.help}`);
    }
    if (parsed.values.help) {
      io.stdout(command.help + "\n");
      return exitCodes.done;
    }
    await command.run({ io, out, values: parsed.values, positionals: parsed.positionals, client: clientFor(io) });
    return exitCodes.done;
  } catch (err) {
    if (err instanceof CliError) {
      out.error(err);
      return err.exitCode;
    }
    out.error(new CliError("INTERNAL", (err as Error).message ?? String(err)));
    return exitCodes.other;
  }
}
