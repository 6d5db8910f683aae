// Where `failback login` keeps the server and token: ~/.config/failback/credentials.json (or the folder in
// FAILBACK_CONFIG_DIR), readable by its owner only. FAILBACK_SERVER and FAILBACK_TOKEN override the file, so
// a CI job can pass them as secrets without writing anything.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CliError } from "./cli-error";

type Env = Record<string, string | undefined>;

export interface Credentials {
  server: string;
  token: string;
}

export function configDir(env: Env): string {
  return env.FAILBACK_CONFIG_DIR || path.join(os.homedir(), ".config", "failback");
}

export const credentialsFile = (env: Env) => path.join(configDir(env), "credentials.json");

export function saveCredentials(env: Env, credentials: Credentials): string {
  const file = credentialsFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written to a private temporary file, then renamed: the token is never readable by others, even briefly,
  // and a crash never leaves half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
  return file;
}

export function loadCredentials(env: Env): Credentials {
  let stored: Partial<Credentials> = {};
  const file = credentialsFile(env);
  if (fs.existsSync(file)) {
    try {
      stored = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Credentials>;
    } catch {
      throw new CliError("UNAUTHENTICATED", `${file} is not valid JSON: run failback login again.`);
    }
  }
  const server = env.FAILBACK_SERVER || stored.server;
  const token = env.FAILBACK_TOKEN || stored.token;
  if (!server || !token)
    throw new CliError(
      "UNAUTHENTICATED",
      "Not logged in: run `failback login --server URL --token TOKEN` (or set FAILBACK_SERVER and FAILBACK_TOKEN).",
    );
  return { server, token };
}

/** http(s)://host[:port] without a trailing slash; anything else is a usage error. */
export function normalizeServer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError("USAGE", `--server must be a URL such as https://failback.example.com (got ${value}).`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError("USAGE", "--server must be an http:// or https:// URL.");
  return url.origin + url.pathname.replace(/\/+$/, "");
}
