// A libvirt host as the provider reaches it: virsh for libvirt's verbs, and the host's own shell for the
// file-level tools (qemu-img, qemu-storage-daemon, nbdinfo, mv, rm, df).
// - `qemu:///system`: both run here.
// - `qemu+ssh://user@host[:port]/system?keyfile=…`: both run on the host through the provider's SSH sessions
//   (ssh-session.ts), virsh against the host's own `qemu:///system`. libvirt's ssh transport would open an SSH
//   connection — and start the user's login shell — for every virsh call (0.3 s here, 1.2–1.6 s where the shell
//   is slow to start); one session per few commands costs that once. SSH uses the caller's key only and never
//   prompts (BatchMode).
import { execFile } from "node:child_process";
import { ProviderError } from "../errors";
import { parseLibvirtUri, shellQuote, type SshTarget, sshOptions } from "./ssh-target";
import { SshSessions } from "./ssh-session";

export { parseLibvirtUri, shellQuote, sshOptions, type SshTarget };

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

export class LibvirtHost {
  readonly ssh: SshTarget | undefined;
  private readonly sessions: SshSessions | undefined;

  constructor(readonly uri: string) {
    this.ssh = parseLibvirtUri(uri);
    this.sessions = this.ssh ? new SshSessions(this.ssh) : undefined;
  }

  get isLocal(): boolean {
    return this.ssh === undefined;
  }

  /** Where the host is, for messages. */
  get label(): string {
    return this.ssh ? `${this.ssh.user}@${this.ssh.host}:${this.ssh.port}` : "this machine";
  }

  /** One virsh command. */
  async virsh(args: string[], options: ToolOptions = {}): Promise<string> {
    try {
      if (!this.sessions) return (await execTool("virsh", ["-q", "-c", this.uri, ...args], options, virshError)).stdout;
      const result = await this.remote("virsh", ["-q", "-c", remoteLocalUri(this.uri), ...args], options);
      if (result.status !== 0) throw virshError(result.stderr.trim() || result.stdout.trim());
      return result.stdout;
    } catch (err) {
      if (err instanceof ProviderError && err.kind === "not_found")
        throw new ProviderError(
          "not_found",
          `domain ${args[1] ?? ""} not found on ${this.label}: it vanished (undefined or renamed), or the id is wrong`,
          err.toolMessage,
        );
      throw err;
    }
  }

  /** A command on the host itself: here, or over SSH. */
  async run(command: string, args: string[], options: ToolOptions = {}): Promise<CommandResult> {
    if (!this.sessions) return execTool(command, args, options, toolError);
    const result = await this.remote(command, args, options);
    if (result.status === 127) throw new ProviderError("unsupported", `${command} is not installed on ${this.label}`);
    if (result.status !== 0)
      throw toolError(result.stderr.trim() || result.stdout.trim(), result.status, command, args);
    return { stdout: result.stdout, stderr: result.stderr };
  }

  /** Ends the SSH sessions (they also end by themselves when idle). */
  close(): void {
    this.sessions?.closeAll();
  }

  private remote(command: string, args: string[], options: ToolOptions) {
    return (this.sessions as SshSessions).run(command, args, {
      input: options.input,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
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
  if (/Permission denied \(publickey|Host key verification failed/i.test(message))
    return new ProviderError(
      "invalid",
      "the host refused the SSH key: add its public key to the host's authorized_keys",
      message,
    );
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

/** The host's own libvirt, named as it would be there: qemu+ssh://u@h/system → qemu:///system. */
export function remoteLocalUri(uri: string): string {
  const url = new URL(uri);
  return `qemu://${url.pathname || "/system"}`;
}
