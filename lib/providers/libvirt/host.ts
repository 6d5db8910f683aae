// A libvirt host as the provider reaches it: `virsh -c <uri>` for libvirt's verbs, and the host's own shell for
// the file-level tools (qemu-img, qemu-storage-daemon, mv, rm, df) — run here for `qemu:///system`, over SSH for
// `qemu+ssh://user@host[:port]/system?keyfile=…`. SSH uses the caller's key only and never prompts (BatchMode).
import { execFile } from "node:child_process";
import { ProviderError } from "../errors";

export interface SshTarget {
  user: string;
  host: string;
  port: number;
  keyFile: string;
  /** no_verify=1 in the URI: the host key is not checked (test hosts). */
  noVerify: boolean;
}

export interface ToolOptions {
  timeoutMs?: number;
  /** Written to the command's standard input. */
  input?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;

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

export class LibvirtHost {
  readonly ssh: SshTarget | undefined;

  constructor(readonly uri: string) {
    this.ssh = parseLibvirtUri(uri);
  }

  get isLocal(): boolean {
    return this.ssh === undefined;
  }

  /** Where the host is, for messages. */
  get label(): string {
    return this.ssh ? `${this.ssh.user}@${this.ssh.host}:${this.ssh.port}` : "this machine";
  }

  /** One virsh command (or several separated by ";" in one connection). */
  virsh(args: string[], options: ToolOptions = {}): Promise<string> {
    return execTool("virsh", ["-q", "-c", this.uri, ...args], options, virshError).then((r) => r.stdout);
  }

  /** A command on the host itself: here, or over SSH. */
  run(command: string, args: string[], options: ToolOptions = {}): Promise<CommandResult> {
    if (!this.ssh) return execTool(command, args, options, toolError);
    const remote = [command, ...args].map(shellQuote).join(" ");
    return execTool(
      "ssh",
      [...sshOptions(this.ssh), `${this.ssh.user}@${this.ssh.host}`, "--", remote],
      options,
      (stderr, code) => (code === 255 ? sshError(this, stderr) : toolError(stderr, code, command, args)),
    );
  }

  qemuImg(args: string[], options?: ToolOptions): Promise<CommandResult> {
    return this.run("qemu-img", args, options);
  }

  async fileExists(file: string): Promise<boolean> {
    try {
      await this.run("test", ["-e", file]);
      return true;
    } catch (err) {
      if (err instanceof ProviderError && err.kind !== "hypervisor") throw err;
      return false;
    }
  }
}

type ErrorMapper = (stderr: string, code: number | null, command: string, args: string[]) => ProviderError;

function execTool(
  command: string,
  args: string[],
  options: ToolOptions,
  mapError: ErrorMapper,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          return reject(
            new ProviderError(
              "unsupported",
              `${command} is not installed (Debian: apt-get install ${command === "virsh" ? "libvirt-clients" : command === "ssh" ? "openssh-client" : "qemu-utils"})`,
            ),
          );
        }
        if (error.killed) {
          return reject(new ProviderError("hypervisor", `${command} ${args[0] ?? ""} timed out`, undefined, true));
        }
        const code = typeof error.code === "number" ? error.code : null;
        reject(mapError((stderr || error.message).trim(), code, command, args));
      },
    );
    child.stdin?.on("error", () => {}); // a command that exits early closes its input: its status tells
    child.stdin?.end(options.input ?? "");
  });
}

/** libvirt's messages, by what the user can do about them. */
export function virshError(stderr: string): ProviderError {
  const message = stderr.replace(/^error: /gm, "").trim();
  if (/Domain not found|failed to get domain|no domain with matching/i.test(message))
    return new ProviderError("not_found", "the domain does not exist on this host", message);
  if (
    /cannot acquire state change lock|Timed out during operation|Requested operation is not valid: .*(job|busy)/i.test(
      message,
    )
  )
    return new ProviderError("busy", "libvirt is busy with another operation on the domain", message, true);
  if (
    /Failed to connect socket|Cannot recv data|Connection refused|Connection reset|End of file while reading/i.test(
      message,
    )
  )
    return new ProviderError(
      "hypervisor",
      "libvirt does not answer: check that libvirtd runs on the host and the URI is right",
      message,
      true,
    );
  if (/Permission denied \(publickey|Host key verification failed/i.test(message))
    return new ProviderError(
      "invalid",
      "the host refused the SSH key: add its public key to the host's authorized_keys",
      message,
    );
  if (
    /Operation not supported|unsupported configuration|not supported yet|unknown procedure|Unknown command/i.test(
      message,
    )
  )
    return new ProviderError("unsupported", "libvirt cannot do this here (its version or the domain's setup)", message);
  if (/No space left/i.test(message)) return new ProviderError("no_space", "the host's storage is full", message);
  if (/Failed to get .*lock|Is another process using the image/i.test(message))
    return new ProviderError("busy", "a disk image is in use by another process", message, true);
  return new ProviderError("hypervisor", "libvirt refused the request", message);
}

function sshError(host: LibvirtHost, stderr: string): ProviderError {
  if (/Permission denied|Host key verification failed/i.test(stderr))
    return new ProviderError(
      "invalid",
      `${host.label} refused the SSH key: add its public key to the host's authorized_keys`,
      stderr,
    );
  return new ProviderError("hypervisor", `${host.label} cannot be reached over SSH`, stderr, true);
}

function toolError(stderr: string, _code: number | null, command: string, args: string[]): ProviderError {
  const kind: ProviderError["kind"] = /No space left on device/i.test(stderr)
    ? "no_space"
    : /Failed to get .*lock|Is another process using the image/i.test(stderr)
      ? "busy"
      : /No such file or directory|Could not open/i.test(stderr)
        ? "not_found"
        : "hypervisor";
  return new ProviderError(kind, `${command} ${args[0] ?? ""} failed`, stderr, kind === "busy");
}
