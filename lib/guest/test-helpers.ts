// Helpers for driving the lab guest from tests: start QEMU, talk to the serial console and to QMP
// over their unix sockets, check disk contents with qemu-io.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import type net from "node:net";
import { promisify } from "node:util";
import type { GuestImage } from "./build-guest";
import { GUEST_PROMPT } from "./build-guest";
import { guestQemuArgs, QEMU_SYSTEM_BINARY } from "./qemu";
import { connectUnix as connectUnixSocket, type QmpClient } from "@/lib/providers/qemu/qmp";

const execFileAsync = promisify(execFile);

/** Connects to a unix socket (the serial console's or QMP's), retrying while QEMU is still starting. */
export function connectUnix(socketPath: string, timeoutMs = 10_000): Promise<net.Socket> {
  return connectUnixSocket(socketPath, Date.now() + timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// Serial console

interface Waiter {
  test: () => boolean;
  wake: () => void;
}

/** The guest's ttyS0 as seen through QEMU's `-chardev socket,server=on`. */
export class SerialConsole {
  private text = "";
  private closed = false;
  private readonly waiters = new Set<Waiter>();
  private commandCounter = 0;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding("latin1");
    sock.on("data", (chunk: string) => {
      this.text += chunk;
      this.poke();
    });
    sock.on("close", () => {
      this.closed = true;
      this.poke();
    });
    sock.on("error", () => {});
  }

  static async connect(socketPath: string, timeoutMs = 10_000): Promise<SerialConsole> {
    return new SerialConsole(await connectUnix(socketPath, timeoutMs));
  }

  /** Everything received so far. */
  get output(): string {
    return this.text;
  }

  /** A position in `output`, to wait only for text that arrives after it. */
  mark(): number {
    return this.text.length;
  }

  /** Waits until `pattern` appears in the output (after `since`); resolves with the match. */
  waitFor(
    pattern: string | RegExp,
    opts: { timeoutMs?: number; since?: number } = {},
  ): Promise<RegExpExecArray | string> {
    const since = opts.since ?? 0;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const find = (): RegExpExecArray | string | null => {
      const hay = this.text.slice(since);
      if (typeof pattern === "string") return hay.includes(pattern) ? pattern : null;
      return new RegExp(pattern.source, pattern.flags.replace("g", "")).exec(hay);
    };
    return new Promise((resolve, reject) => {
      let result: RegExpExecArray | string | null = null;
      const waiter: Waiter = {
        test: () => (result = find()) !== null || this.closed,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (result !== null) resolve(result);
          else reject(new Error(`serial console closed while waiting for ${String(pattern)}\n${this.tail()}`));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\n${this.tail()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      if (waiter.test()) waiter.wake();
    });
  }

  /** Types text (add "\n" to press Enter). */
  write(text: string): void {
    this.sock.write(text, "latin1");
  }

  /**
   * Types a shell command, waits for it to finish and returns its exit status. The completion
   * marker contains `$?`, so the terminal's echo of the typed line cannot be mistaken for it.
   */
  async run(command: string, timeoutMs = 30_000): Promise<{ status: number; output: string }> {
    const id = ++this.commandCounter;
    const since = this.mark();
    this.write(`${command}; echo "@@done-${id} status=$?@@"\n`);
    const m = await this.waitFor(new RegExp(`@@done-${id} status=(\\d+)@@`), { since, timeoutMs });
    const match = m as RegExpExecArray;
    return { status: Number(match[1]), output: this.text.slice(since, since + match.index) };
  }

  /** Waits for the shell prompt. */
  waitForPrompt(opts: { timeoutMs?: number; since?: number } = {}): Promise<unknown> {
    return this.waitFor(GUEST_PROMPT, opts);
  }

  close(): void {
    this.sock.destroy();
  }

  tail(chars = 2000): string {
    return `--- last serial output ---\n${this.text.slice(-chars)}\n---`;
  }

  private poke(): void {
    for (const w of [...this.waiters]) if (w.test()) w.wake();
  }
}

// ---------------------------------------------------------------------------------------------
// QMP: the provider's own client (greeting, capabilities, execute, typed errors).

export { QmpClient } from "@/lib/providers/qemu/qmp";

// ---------------------------------------------------------------------------------------------
// QEMU process

export interface GuestExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningGuest {
  child: ChildProcess;
  /** Resolves when QEMU exits (never rejects). */
  exited: Promise<GuestExit>;
  /** QEMU's stderr so far (diagnostics). */
  stderr: () => string;
  serialSocket: string;
  qmpSocket: string;
  serialLog: string;
  /** SIGKILLs QEMU if it is still running and waits for it. */
  kill: () => Promise<void>;
}

export function startGuest(o: {
  image: GuestImage;
  disk: string;
  /** Directory for the sockets and the serial log (keep its path short: unix socket paths max 107 bytes). */
  runDir: string;
  memoryMiB?: number;
}): RunningGuest {
  const serialSocket = `${o.runDir}/serial.sock`;
  const qmpSocket = `${o.runDir}/qmp.sock`;
  const serialLog = `${o.runDir}/serial.log`;
  const args = guestQemuArgs({
    image: o.image,
    disk: o.disk,
    serialSocket,
    serialLog,
    qmpSocket,
    memoryMiB: o.memoryMiB,
  });
  const child = spawn(QEMU_SYSTEM_BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (c: string) => {
    stderr += c;
  });
  const exited = new Promise<GuestExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (err) => {
      stderr += `\nspawn ${QEMU_SYSTEM_BINARY} failed: ${err.message}`;
      resolve({ code: null, signal: null });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    exited,
    stderr: () => stderr,
    serialSocket,
    qmpSocket,
    serialLog,
    kill: async () => {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Resolves with the exit, or null if QEMU is still running after `timeoutMs`. */
export async function waitForExit(guest: RunningGuest, timeoutMs: number): Promise<GuestExit | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    return await Promise.race([guest.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Graceful shutdown: sends QMP `system_powerdown` and waits for QEMU to exit, pressing again every
 * `resendEveryMs`. Repeating matters: until the guest's init has loaded the ACPI button driver
 * (most of the boot), QEMU drops power-button presses, exactly like a PC ignoring its power button
 * while the firmware runs. Resolves with the exit, or null if QEMU still runs after `timeoutMs`.
 */
export async function powerdown(
  qmp: QmpClient,
  guest: RunningGuest,
  opts: { timeoutMs?: number; resendEveryMs?: number } = {},
): Promise<{ exit: GuestExit | null; presses: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const every = opts.resendEveryMs ?? 1_000;
  let presses = 0;
  while (Date.now() < deadline) {
    try {
      await qmp.execute("system_powerdown");
      presses++;
    } catch (err) {
      // QEMU may exit (closing QMP) between our check and the command.
      const exit = await waitForExit(guest, 1_000);
      if (exit) return { exit, presses };
      throw err;
    }
    const exit = await waitForExit(guest, Math.max(0, Math.min(every, deadline - Date.now())));
    if (exit) return { exit, presses };
  }
  return { exit: null, presses };
}

// ---------------------------------------------------------------------------------------------
// Disk images

export async function createQcow2(file: string, sizeMiB: number): Promise<void> {
  await execFileAsync("qemu-img", ["create", "-q", "-f", "qcow2", file, `${sizeMiB}M`]);
}

/**
 * Checks with `qemu-io read -P` that every byte of [offset, offset+length) equals `pattern`.
 * Must not be used while a QEMU process has the image open.
 */
export async function verifyPattern(
  file: string,
  pattern: number,
  offset: number,
  length: number,
  format = "qcow2",
): Promise<{ ok: boolean; output: string }> {
  const cmd = `read -P 0x${pattern.toString(16)} ${offset} ${length}`;
  try {
    const { stdout, stderr } = await execFileAsync("qemu-io", ["-f", format, "-c", cmd, file]);
    const output = stdout + stderr;
    return { ok: /read \d+\/\d+ bytes/.test(output) && !/verification failed/i.test(output), output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}
