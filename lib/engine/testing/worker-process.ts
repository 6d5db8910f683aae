// Real worker processes for crash tests (`node --import tsx scripts/worker.ts`), killed with real signals.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import path from "node:path";
import { runWithFolderHidden } from "@/lib/testing/hidden-folder";

export interface WorkerProcess {
  pid: number;
  output: () => string;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<void>;
}

export interface WorkerProcessOptions {
  databaseUrl: string;
  dataDir: string;
  env?: Record<string, string>;
  /** Runs the worker in a mount namespace where this folder is hidden (lib/testing/hidden-folder.ts). */
  hiddenFolder?: string;
}

const projectDir = path.resolve(import.meta.dirname, "../../..");

/** Starts a worker and resolves once it says it has started (its queue polls and its sweep ran once). */
export async function spawnWorker(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const args = ["--import", "tsx", "scripts/worker.ts"];
  const spawnOptions: SpawnOptions = {
    cwd: projectDir,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      FAILBACK_DATA_DIR: options.dataDir,
      FAILBACK_LEASE_SECONDS: "2",
      FAILBACK_POLL_SECONDS: "0.5",
      FAILBACK_STEP_ATTEMPTS: "4",
      FAILBACK_RETRY_DELAY_MS: "200",
      FAILBACK_WORKER_CONCURRENCY: "2",
      FAILBACK_TRANSFER_RANGE_MIB: "4",
      FAILBACK_TEST_HOOKS: "1",
      FAILBACK_ESTIMATE_SECONDS: "0",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  };
  // unshare execs the worker in place (a mount namespace needs no fork): the child's pid is the worker's.
  const child: ChildProcess = options.hiddenFolder
    ? runWithFolderHidden(options.hiddenFolder, process.execPath, args, spawnOptions)
    : spawn(process.execPath, args, spawnOptions);
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!/worker .* started/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`worker exited during start-up:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`worker did not start within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid as number,
    output: () => output,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
}
