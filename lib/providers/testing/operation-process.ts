// The parent side of run-operation.ts: start a child that builds the subject's provider, hand it one operation,
// and SIGKILL it after a delay (or let it finish).
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import type { SpawnSpec } from "./contract-subject";
import type { ProviderOperation } from "./operations";

const projectDir = path.resolve(import.meta.dirname, "../../..");
const script = path.join(import.meta.dirname, "run-operation.ts");

export interface OperationOutcome {
  /** "killed": SIGKILLed before it said done; "done"/"failed": it ended by itself before the kill. */
  ended: "killed" | "done" | "failed";
  /** Milliseconds from sending the operation to the kill (or to its end). */
  afterMs: number;
  output: string;
}

export interface OperationProcess {
  /** Sends the operation; kills the child `killAfterMs` later (null: never) and resolves once it has exited. */
  run(operation: ProviderOperation, killAfterMs: number | null): Promise<OperationOutcome>;
  /** Kills the child if it still runs (a test that failed before run). */
  dispose(): void;
}

/** Starts the child and resolves once it has built its provider and waits for the operation. */
export async function startOperationProcess(spec: SpawnSpec, timeoutMs = 30_000): Promise<OperationProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(spec)], {
    cwd: projectDir,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const kill = () => {
    if (alive()) child.kill("SIGKILL");
  };
  const deadline = Date.now() + timeoutMs;
  while (!/^ready$/m.test(output)) {
    if (!alive()) throw new Error(`run-operation exited during start-up:\n${output}`);
    if (Date.now() > deadline) {
      kill();
      throw new Error(`run-operation did not get ready within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    dispose: kill,
    async run(operation, killAfterMs) {
      const sent = Date.now();
      child.stdin?.end(`${JSON.stringify(operation)}\n`);
      let endedAt: number | null = null;
      void exited.then(() => (endedAt ??= Date.now()));
      if (killAfterMs !== null) {
        await Promise.race([exited, new Promise((r) => setTimeout(r, killAfterMs))]);
        const killedAt = Date.now();
        const ranToEnd = !alive() || /^(done|failed .*)$/m.test(output);
        kill();
        await exited;
        if (!ranToEnd) return { ended: "killed", afterMs: killedAt - sent, output };
      } else {
        const timer = setTimeout(kill, 120_000);
        await exited;
        clearTimeout(timer);
      }
      const ended = /^done$/m.test(output) ? "done" : "failed";
      return { ended, afterMs: (endedAt ?? Date.now()) - sent, output };
    },
  };
}

/**
 * Child processes started ahead: the next ones build their provider (Node + tsx start-up, ≈ 1 s of CPU) while the
 * current operation runs and is checked.
 */
export class OperationProcessPool {
  private readonly spares: Promise<OperationProcess>[] = [];

  /** Starts the first `ahead` children at once. */
  constructor(
    private readonly spec: SpawnSpec,
    private readonly ahead = 2,
  ) {
    while (this.spares.length < this.ahead) this.spares.push(this.start());
  }

  next(): Promise<OperationProcess> {
    const current = this.spares.shift() ?? this.start();
    while (this.spares.length < this.ahead) this.spares.push(this.start());
    return current;
  }

  private start(): Promise<OperationProcess> {
    const started = startOperationProcess(this.spec);
    started.catch(() => {}); // reported when taken
    return started;
  }

  async dispose(): Promise<void> {
    const spares = this.spares.splice(0);
    for (const spare of spares) (await spare.catch(() => null))?.dispose();
  }
}
