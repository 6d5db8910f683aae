// The command line's share of the command catalogue: every entry offered on the command line becomes a
// command here, sent to its own API route. Most are built from the entry alone — its path fields are the
// positional arguments, its other input fields the options; `start` and `check` have their own option parser
// (lib/cli/start-request.ts), since a failback request is a list of replicas with targets.
import { z } from "zod";
import { allCommands } from "@/lib/commands/catalog";
import type { AnyCommand } from "@/lib/commands/define";
import { fillPath, pathFieldsOf } from "@/lib/commands/http-path";
import type { CommandResult } from "./api-types";
import { usageError } from "./cli-error";
import { stringOption, type Command, type OptionSpecs } from "./command";
import { checkCommand, startCommand } from "./commands/start";

/** Options named for people rather than for the schema; any other field is its kebab-cased name. */
const flagOfField: Record<string, string> = { itemId: "item", local: "at", timeZone: "zone" };
const flagOf = (field: string) => flagOfField[field] ?? field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A positional argument's name in help: sessionId → <session>. */
const argumentOf = (field: string) => `<${field.replace(/Id$/, "")}>`;

/** Fields the command line fills in itself when left out. */
const defaulted = new Set(["timeZone"]);

function inputFields(command: AnyCommand): { all: string[]; required: string[] } {
  const schema = z.toJSONSchema(command.input, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return { all: Object.keys(schema.properties ?? {}), required: schema.required ?? [] };
}

function fromEntry(command: AnyCommand): Command {
  const http = command.http as NonNullable<AnyCommand["http"]>;
  const positional = pathFieldsOf(http.path);
  const fields = inputFields(command);
  const optionFields = fields.all.filter((field) => !positional.includes(field));
  const requiredOptions = fields.required.filter((f) => optionFields.includes(f) && !defaulted.has(f));
  const options: OptionSpecs = Object.fromEntries(optionFields.map((f) => [flagOf(f), { type: "string" as const }]));
  const synopsis = [
    `failback ${command.name}`,
    ...positional.map(argumentOf),
    ...optionFields.map((f) => {
      const option = `--${flagOf(f)} ${f === "timeZone" ? "ZONE" : f.toUpperCase()}`;
      return requiredOptions.includes(f) ? option : `[${option}]`;
    }),
    "[--json]",
  ].join(" ");
  return {
    name: command.name,
    summary: command.summary,
    help: `${synopsis}\n\n  ${command.summary}${optionFields.includes("timeZone") ? "\n  --zone defaults to this machine's time zone." : ""}`,
    options,
    async run({ values, positionals, client, out }) {
      if (positionals.length !== positional.length || positionals.some((p) => !p)) {
        throw usageError(`${command.name} takes ${positional.map(argumentOf).join(" ")}: ${synopsis}`);
      }
      const missing = requiredOptions.filter((f) => stringOption(values, flagOf(f)) === undefined);
      if (missing.length)
        throw usageError(`${command.name} needs ${missing.map((f) => `--${flagOf(f)}`).join(", ")}: ${synopsis}`);
      const path = fillPath(http.path, positionals);
      const body: Record<string, string> = {};
      for (const field of optionFields) {
        const value = stringOption(values, flagOf(field));
        if (value !== undefined) body[field] = value;
      }
      if (optionFields.includes("timeZone") && body.local && !body.timeZone) {
        body.timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      }
      const result = await client().post<CommandResult>(path, body);
      out.result(result, () => result.message + (result.schedule ? ` New switch time: ${result.schedule.runAt}.` : ""));
    },
  };
}

const custom: Record<string, (command: AnyCommand) => Command> = { start: startCommand, check: checkCommand };

/** The catalogue's commands, in the catalogue's order. */
export function catalogCliCommands(): Command[] {
  return allCommands()
    .filter((command) => command.cli && command.http)
    .map((command) => (custom[command.name] ?? fromEntry)(command));
}
