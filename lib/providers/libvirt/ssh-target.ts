// An SSH host as libvirt URIs name it, and the ssh options the provider always uses with it.
import { ProviderError } from "../errors";

export interface SshTarget {
  user: string;
  host: string;
  port: number;
  keyFile: string;
  /** no_verify=1 in the URI: the host key is not checked (test hosts). */
  noVerify: boolean;
}

/** The SSH part of a libvirt URI, or undefined for a local one. Anything else is refused with the reason. */
export function parseLibvirtUri(uri: string): SshTarget | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ProviderError("invalid", `not a libvirt URI: ${JSON.stringify(uri)}`);
  }
  if (url.protocol === "qemu:") {
    if (url.host) throw new ProviderError("invalid", `${uri}: a remote host needs qemu+ssh://`);
    return undefined;
  }
  if (url.protocol !== "qemu+ssh:")
    throw new ProviderError("unsupported", `${uri}: only qemu:///system and qemu+ssh://user@host/system are supported`);
  const keyFile = url.searchParams.get("keyfile");
  if (!keyFile) throw new ProviderError("invalid", `${uri}: an SSH host needs keyfile=<private key path>`);
  return {
    user: decodeURIComponent(url.username) || "root",
    host: url.hostname,
    port: url.port ? Number(url.port) : 22,
    keyFile,
    noVerify: url.searchParams.get("no_verify") === "1",
  };
}

/** ssh options for a target: key only, no prompts, a dead host noticed within seconds. */
export function sshOptions(target: SshTarget): string[] {
  return [
    "-i",
    target.keyFile,
    "-p",
    String(target.port),
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "LogLevel=ERROR",
    ...(target.noVerify ? ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"] : []),
  ];
}

/** Quotes one word for the remote POSIX shell that ssh hands the command to. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
