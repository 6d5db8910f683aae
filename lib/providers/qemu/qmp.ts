// A QMP (QEMU Machine Protocol) client over a unix socket.
//
// - connect(): greeting + qmp_capabilities. QEMU's monitor serves ONE client at a time: a second connection
//   is accepted by the kernel but gets no greeting until the first client leaves, so the greeting wait is
//   bounded and reported as a transient "busy". Events that arrive before the greeting are skipped.
// - execute(): commands carry ids, so replies are matched even when several are in flight; each has a timeout.
// - Events are kept (bounded) and can be awaited with waitForEvent(); mark() lets a caller start a command
//   and then wait for an event that may have arrived before the waiter was registered (e.g. BLOCK_JOB_READY).
// - When the socket closes (QEMU exited or was killed), every pending command and event waiter rejects at
//   once with a transient ProviderError: nothing hangs on a dead VM.
import net from "node:net";
import { ProviderError } from "../errors";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** A command QEMU answered with an error: kind "hypervisor", toolMessage = QEMU's own description. */
export class QmpCommandError extends ProviderError {
  constructor(
    public readonly command: string,
    /** QMP error class, e.g. "GenericError", "DeviceNotFound". */
    public readonly errorClass: string,
    desc: string,
  ) {
    super("hypervisor", `QMP ${command} failed`, desc);
  }
}

export interface QmpConnectOptions {
  /** Overall limit for connecting (retried while the socket does not exist / refuses) and the greeting. */
  timeoutMs?: number;
  /** Default per-command timeout. */
  commandTimeoutMs?: number;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface EventWaiter {
  names: readonly string[];
  predicate: (event: QmpEvent) => boolean;
  resolve: (event: QmpEvent) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const MAX_KEPT_EVENTS = 1000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export class QmpClient {
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Set<EventWaiter>();
  private readonly listeners = new Set<(event: QmpEvent) => void>();
  /** Kept events; events[i] has sequence number firstSeq + i. */
  private events: QmpEvent[] = [];
  private firstSeq = 0;
  private greetingHandler: ((msg: Record<string, unknown>) => void) | null = null;
  private closedFlag = false;
  private resolveClosed!: () => void;
  /** Resolves when the connection is gone (QEMU exited, or close() was called). Never rejects. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));

  private constructor(
    private readonly sock: net.Socket,
    public readonly socketPath: string,
    private readonly commandTimeoutMs: number,
  ) {
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => this.onData(chunk));
    sock.on("close", () => this.onClose());
    sock.on("error", () => {}); // "close" follows; pending calls are rejected there
  }

  static async connect(socketPath: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const sock = await connectUnix(socketPath, deadline);
    const client = new QmpClient(sock, socketPath, options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            client.greetingHandler = null;
            reject(
              new ProviderError(
                "busy",
                `QMP monitor ${socketPath} did not greet within ${timeoutMs} ms (another client is connected?)`,
                undefined,
                true,
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        );
        client.greetingHandler = (msg) => {
          clearTimeout(timer);
          if ("QMP" in msg) resolve();
          else reject(new ProviderError("hypervisor", `unexpected QMP greeting on ${socketPath}`, JSON.stringify(msg)));
        };
        void client.closed.then(() => {
          clearTimeout(timer);
          reject(closedError(socketPath, "the greeting"));
        });
      });
      await client.execute("qmp_capabilities");
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Runs a command; resolves with its `return` value. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (this.closedFlag) return Promise.reject(closedError(this.socketPath, command));
    const id = `fb-${this.nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProviderError("hypervisor", `QMP ${command} got no answer within ${timeoutMs} ms`, undefined, true));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: (v) => resolve(v as T), reject, timer });
      this.sock.write(
        JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + "\n",
      );
    });
  }

  /** Sequence number of the next event: pass as `since` to also see events that arrive before you wait. */
  mark(): number {
    return this.firstSeq + this.events.length;
  }

  /**
   * Resolves with the first event named `name` (or any of several names) matching `predicate`, received at or
   * after `since` (default: now). Rejects after `timeoutMs`, or at once when the connection closes.
   */
  waitForEvent(
    name: string | readonly string[],
    predicate: (event: QmpEvent) => boolean = () => true,
    timeoutMs = 30_000,
    options: { since?: number } = {},
  ): Promise<QmpEvent> {
    const names = typeof name === "string" ? [name] : name;
    const since = options.since ?? this.mark();
    for (let seq = Math.max(since, this.firstSeq); seq < this.mark(); seq++) {
      const event = this.events[seq - this.firstSeq];
      if (event && names.includes(event.event) && predicate(event)) return Promise.resolve(event);
    }
    if (this.closedFlag) return Promise.reject(closedError(this.socketPath, `event ${names.join("/")}`));
    return new Promise<QmpEvent>((resolve, reject) => {
      const waiter: EventWaiter = {
        names,
        predicate,
        resolve: (event) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(event);
        },
        reject: (error) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          reject(error);
        },
        timer: setTimeout(() => {
          waiter.reject(
            new ProviderError("hypervisor", `no QMP event ${names.join("/")} within ${timeoutMs} ms`, undefined, true),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // QEMU only sends JSON; ignore anything else rather than crash the process
      }
      if (this.greetingHandler) {
        // QEMU may write an event to a new connection before its greeting (seen: a JOB_STATUS_CHANGE right
        // after a job ended, emitted while the monitor still counted the previous client's session). It belongs
        // to no session of ours: skip it and keep waiting for the greeting.
        if (typeof msg.event === "string" && !("QMP" in msg)) continue;
        const handler = this.greetingHandler;
        this.greetingHandler = null;
        handler(msg);
      } else if (typeof msg.event === "string") {
        this.onEventMessage(msg as unknown as QmpEvent);
      } else {
        this.onReply(msg);
      }
    }
  }

  private onReply(msg: Record<string, unknown>): void {
    const id = typeof msg.id === "string" ? msg.id : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!id || !pending) return; // a reply to a command that already timed out
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const error = msg.error as { class?: string; desc?: string } | undefined;
    if (error)
      pending.reject(
        new QmpCommandError(pending.command, error.class ?? "GenericError", error.desc ?? JSON.stringify(error)),
      );
    else pending.resolve(msg.return);
  }

  private onEventMessage(event: QmpEvent): void {
    this.events.push(event);
    if (this.events.length > MAX_KEPT_EVENTS) {
      const drop = this.events.length - MAX_KEPT_EVENTS;
      this.events = this.events.slice(drop);
      this.firstSeq += drop;
    }
    for (const waiter of [...this.waiters])
      if (waiter.names.includes(event.event) && waiter.predicate(event)) waiter.resolve(event);
    for (const listener of this.listeners) listener(event);
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(closedError(this.socketPath, pending.command));
    }
    this.pending.clear();
    for (const waiter of [...this.waiters])
      waiter.reject(closedError(this.socketPath, `event ${waiter.names.join("/")}`));
    this.resolveClosed();
  }
}

function closedError(socketPath: string, what: string): ProviderError {
  return new ProviderError(
    "hypervisor",
    `QMP connection ${socketPath} closed (QEMU exited?) while waiting for ${what}`,
    undefined,
    true,
  );
}

/** Connects to a unix socket, retrying while QEMU has not created it or is not listening yet. */
export async function connectUnix(socketPath: string, deadline: number): Promise<net.Socket> {
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const sock = net.createConnection(socketPath);
        sock.once("connect", () => {
          sock.off("error", reject);
          resolve(sock);
        });
        sock.once("error", reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ECONNREFUSED") || Date.now() >= deadline) {
        throw new ProviderError(
          "hypervisor",
          `cannot connect to QMP socket ${socketPath}`,
          (err as Error).message,
          true,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
