// `npm run worker`: one more failback worker process. Any number may run, on any machine that reaches the
// database (DATABASE_URL, or this machine's embedded server). Each works on up to
// FAILBACK_WORKER_CONCURRENCY VMs at once; leases keep one owner per VM.
import { ConfigError, loadConfig } from "@/lib/config";
import { connect } from "@/lib/db/client";
import { openToolDatabase } from "@/lib/db/tool-database";
import type { StepKind } from "@/lib/engine";
import { engineSettingsFromConfig, startWorker } from "@/lib/engine/worker-main";

const log = (line: string) => console.log(`[worker] ${line}`);

/**
 * Crash tests only (FAILBACK_TEST_HOOKS=1): FAILBACK_TEST_CRASH_AFTER=<step>[:<plan>] kills this process right
 * after that step's hypervisor side effect and before its database commit.
 */
function crashHook(): ((step: StepKind, plan: string) => void) | undefined {
  if (process.env.FAILBACK_TEST_HOOKS !== "1" || !process.env.FAILBACK_TEST_CRASH_AFTER) return undefined;
  const [step, plan] = process.env.FAILBACK_TEST_CRASH_AFTER.split(":");
  return (done, donePlan) => {
    if (done === step && (!plan || plan === donePlan)) {
      console.log(`[worker] test hook: crashing after the side effect of ${done} (${donePlan})`);
      process.kill(process.pid, "SIGKILL");
    }
  };
}

/** Crash tests only: FAILBACK_TEST_STEP_DELAY_MS slows every step down, so random kills land inside phases. */
function stepDelayHook(): (() => Promise<void>) | undefined {
  const ms = Number(process.env.FAILBACK_TEST_STEP_DELAY_MS ?? 0);
  if (process.env.FAILBACK_TEST_HOOKS !== "1" || !(ms > 0)) return undefined;
  return () => new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const cfg = loadConfig();
  const database = await openToolDatabase(cfg, log);
  const connection = connect(database.url, {
    max: cfg.engine.concurrency + 3,
    idleInTransactionTimeoutMs: cfg.engine.leaseSeconds * 1000,
  });
  const worker = await startWorker({
    db: connection.db,
    databaseUrl: database.url,
    settings: engineSettingsFromConfig(),
    afterEffect: crashHook(),
    beforeStep: stepDelayHook(),
    log,
  });
  const stop = async (signal: string) => {
    log(`${signal}: stopping (running steps resume from their checkpoints in the next worker)`);
    await worker.stop().catch(() => {});
    await connection.close().catch(() => {});
    await database.release().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`[worker] ${err.message}`);
  else console.error(`[worker] Could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
