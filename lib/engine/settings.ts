// The engine's knobs. Production reads them from the environment (lib/config.ts); tests pass small values
// (leases and retry delays of a second or two) so crash and takeover tests finish quickly.
import { config } from "@/lib/config";

export interface EngineSettings {
  /** A worker's lease on an item; a dead worker's item is taken over within this time. */
  leaseMs: number;
  /** Attempts of a step before the item needs attention. */
  stepAttempts: number;
  /** Delay before the second attempt; doubled for each later one. */
  retryDelayMs: number;
  /** Items one worker process works on at once. */
  concurrency: number;
  /** How often idle workers look for jobs, and (twice that) how often they sweep for lost work. */
  pollSeconds: number;
  /** Where the tiny guest's kernel and initramfs are cached (qemu provider). */
  guestCacheDir: string;
  /** The transfer's checkpoint unit (the most a crash can make it send again); the data plane's default if unset. */
  rangeBytes?: number;
  /** How often a worker refreshes the replicas' data-to-move estimates; 0 turns that off. */
  estimateEveryMs?: number;
}

export function engineSettingsFromConfig(): EngineSettings {
  const cfg = config();
  return {
    leaseMs: cfg.engine.leaseSeconds * 1000,
    stepAttempts: cfg.engine.stepAttempts,
    retryDelayMs: cfg.engine.retryDelayMs,
    concurrency: cfg.engine.concurrency,
    pollSeconds: cfg.engine.pollSeconds,
    guestCacheDir: cfg.guestCacheDir,
    rangeBytes: cfg.engine.transferRangeBytes,
    estimateEveryMs: cfg.engine.estimateSeconds * 1000,
  };
}
