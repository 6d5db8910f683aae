// Commands on a host across SSH through a few long-lived sessions instead of one SSH connection per command.
//
// Why: every `ssh host cmd` runs the user's login shell again, and hosts' shells are often slow to start (on the
// test machine root's .bashrc initialises pyenv: 1.2–1.6 s for `ssh host true`, multiplexed or not). A
// failback step runs dozens of host commands, so each session starts `/bin/sh` once and is fed commands on its
// input; each answer comes back framed by byte counts, so any output (binary, or lines that look like markers)
// passes through unchanged:
//
//   \n__FAILBACK__ <id> <exit status> <stdout bytes> <stderr bytes>\n<stdout><stderr>
//
// A command's own input, when it has one, is sent base64-encoded inside the script and decoded on the host.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type net from "node:net";
import { ProviderError } from "../errors";
import { shellQuote, type SshTarget, sshOptions } from "./ssh-target";

export interface SessionResult {
  status: number;
  stdout: string;
  stderr: string;
}

const MAX_SESSIONS = 3;
/** An idle session ends after this; the worker process never stays alive for it. */
const IDLE_MS = 15_000;
const MARKER = "__FAILBACK__";

interface Pending {
  id: number;
  resolve(result: SessionResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class Session {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private stderrText = "";
  closed = false;

  constructor(
    private readonly target: SshTarget,
    private readonly onClose: (session: Session) => void,
  ) {
    this.child = spawn("ssh", [...sshOptions(target), `${target.user}@${target.host}`, "--", "exec /bin/sh"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdout.on("data", (chunk: Buffer) => this.onData(chunk));
    this.child.stderr.on("data", (chunk: Buffer) => {
      if (this.stderrText.length < 16_384) this.stderrText += chunk.toString();
    });
    this.child.stdin.on("error", () => {});
    this.child.on("close", () => this.finish(this.closeError()));
    this.child.on("error", (err) =>
      this.finish(new ProviderError("unsupported", "ssh could not be started", err.message)),
    );
  }

  run(id: number, script: string, timeoutMs: number): Promise<SessionResult> {
    clearTimeout(this.idleTimer);
    this.holdProcess(true);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.finish(
          new ProviderError(
            "hypervisor",
            `a command on the host did not finish within ${timeoutMs} ms`,
            undefined,
            true,
          ),
        );
        this.child.kill("SIGKILL");
      }, timeoutMs);
      this.pending = { id, resolve, reject, timer };
      this.child.stdin.write(`${script}\n`);
    });
  }

  /**
   * An idle session must not keep the process alive (a CLI would wait for the idle timeout); a session with a
   * command in flight must, or the process could exit with the command's answer still on its way.
   */
  private holdProcess(hold: boolean): void {
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as net.Socket[]) {
      if (hold) stream.ref?.();
      else stream.unref?.();
    }
    if (hold) this.child.ref();
    else this.child.unref();
  }

  close(): void {
    this.closed = true;
    this.child.stdin.end();
    this.child.kill("SIGTERM");
  }

  private closeError(): ProviderError {
    const text = this.stderrText.trim();
    if (/Permission denied|Host key verification failed/i.test(text))
      return new ProviderError(
        "invalid",
        "the host refused the SSH key: add its public key to the host's authorized_keys",
        text,
      );
    return new ProviderError(
      "hypervisor",
      `${this.target.user}@${this.target.host}:${this.target.port} cannot be reached over SSH, or the connection ended`,
      text || undefined,
      true,
    );
  }

  private finish(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    if (!this.closed) {
      this.closed = true;
      this.child.kill("SIGTERM");
    }
    clearTimeout(this.idleTimer);
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const start = this.buffer.indexOf(`\n${MARKER} `);
      if (start < 0) return;
      const lineEnd = this.buffer.indexOf("\n", start + 1);
      if (lineEnd < 0) return;
      const [, id, status, outBytes, errBytes] = this.buffer
        .subarray(start + 1, lineEnd)
        .toString()
        .split(" ");
      const bodyStart = lineEnd + 1;
      const total = Number(outBytes) + Number(errBytes);
      if (this.buffer.length < bodyStart + total) return;
      const stdout = this.buffer.subarray(bodyStart, bodyStart + Number(outBytes)).toString();
      const stderr = this.buffer.subarray(bodyStart + Number(outBytes), bodyStart + total).toString();
      this.buffer = this.buffer.subarray(bodyStart + total);
      const pending = this.pending;
      if (pending && String(pending.id) === id) {
        this.pending = undefined;
        clearTimeout(pending.timer);
        this.holdProcess(false);
        pending.resolve({ status: Number(status), stdout, stderr });
        this.idleTimer = setTimeout(() => this.close(), IDLE_MS);
        this.idleTimer.unref();
      }
    }
  }
}

/** The sessions of one SSH target: up to MAX_SESSIONS at once, commands queued beyond that. */
export class SshSessions {
  private readonly sessions = new Set<Session>();
  private readonly waiting: (() => void)[] = [];
  private readonly taken = new Set<Session>();
  private nextId = 1;

  constructor(private readonly target: SshTarget) {}

  async run(command: string, args: string[], options: { input?: string; timeoutMs: number }): Promise<SessionResult> {
    const session = await this.acquire();
    const id = this.nextId++;
    const words = [command, ...args].map(shellQuote).join(" ");
    // Output goes to files first: a command that forks a daemon must not hold the session's own output open.
    const redirect = `> "$d/o" 2> "$d/e"; s=$?`;
    const line =
      options.input === undefined
        ? `${words} < /dev/null ${redirect}`
        : `base64 -d <<'${MARKER}_INPUT' | ${words} ${redirect}\n${Buffer.from(options.input).toString("base64")}\n${MARKER}_INPUT`;
    const script = [
      `d=$(mktemp -d); ${line}`,
      `printf '\\n${MARKER} %s %s %s %s\\n' ${id} "$s" "$(wc -c < "$d/o")" "$(wc -c < "$d/e")"`,
      `cat "$d/o" "$d/e"; rm -rf "$d"`,
    ].join("\n");
    try {
      return await session.run(id, script, options.timeoutMs);
    } finally {
      this.release(session);
    }
  }

  closeAll(): void {
    for (const session of this.sessions) session.close();
    this.sessions.clear();
  }

  /** A session no other command has taken; a new one while there are fewer than MAX_SESSIONS; else wait. */
  private async acquire(): Promise<Session> {
    for (;;) {
      let session = [...this.sessions].find((s) => !this.taken.has(s) && !s.closed);
      if (!session && this.sessions.size < MAX_SESSIONS) {
        session = new Session(this.target, (closed) => {
          this.sessions.delete(closed);
          this.taken.delete(closed);
          this.wake();
        });
        this.sessions.add(session);
      }
      if (session) {
        this.taken.add(session);
        return session;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(session: Session): void {
    this.taken.delete(session);
    this.wake();
  }

  private wake(): void {
    this.waiting.shift()?.();
  }
}
