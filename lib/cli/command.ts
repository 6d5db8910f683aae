// What every command is: a name, its options (node:util parseArgs), how many session ids it takes, and a run
// function given parsed values, an output and (on demand) an API client built from the stored login.
import type { ParseArgsConfig } from "node:util";
import { ApiClient } from "./api-client";
import { usageError } from "./cli-error";
import { loadCredentials } from "./credentials";
import type { CliIo } from "./io";
import type { Output } from "./output";

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandContext {
  io: CliIo;
  out: Output;
  values: OptionValues;
  positionals: string[];
  client: () => ApiClient;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The synopsis and option help shown by `failback <command> --help`. */
  help: string;
  options: OptionSpecs;
  run: (ctx: CommandContext) => Promise<void>;
}

export function clientFor(io: CliIo): () => ApiClient {
  let client: ApiClient | undefined;
  return () => (client ??= new ApiClient(loadCredentials(io.env), io.fetch));
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === "string")
    : typeof value === "string"
      ? [value]
      : [];
}

export function integerOption(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max)
    throw usageError(`--${name} must be a whole number from ${min} to ${max} (got ${raw}).`);
  return value;
}

export function choiceOption<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw))
    throw usageError(`--${name} must be one of ${choices.join(", ")} (got ${raw}).`);
  return raw as T;
}

export function sessionIdArgument(positionals: string[], command: string): string {
  if (positionals.length !== 1 || !positionals[0])
    throw usageError(`${command} takes exactly one session id: failback ${command} <session>`);
  return positionals[0];
}

export const sessionPath = (id: string) => `/api/v1/sessions/${encodeURIComponent(id)}`;
