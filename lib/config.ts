// The one place that reads the environment. Everything else imports `config`.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { z } from "zod";

const projectRoot = process.cwd();

const port = z.coerce.number().int().min(1).max(65_535);
const flag = z.enum(["0", "1", "true", "false"]).transform((v) => v === "1" || v === "true");
const failures = z.coerce.number().int().min(1).max(10_000);

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  PORT: port.default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  FAILBACK_DATA_DIR: z.string().min(1).default(path.join(projectRoot, ".data")),
  FAILBACK_SECRET_KEY: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, "must be 64 hex characters (32 bytes); generate one with: openssl rand -hex 32")
    .optional(),
  FAILBACK_ADMIN_PASSWORD: z.string().min(12, "must be at least 12 characters").optional(),
  FAILBACK_ADMIN_EMAIL: z.email().default("admin@failback.local"),
  FAILBACK_EMBEDDED_PG_PORT: port.default(54329),
  // Sign-in throttling (lib/auth/rate-limit.ts). The former names of the two allowances still count, under the
  // new ones: they were hard lock limits, and now say when the growing waits start.
  FAILBACK_SIGNIN_FREE_FAILURES: failures.optional(),
  FAILBACK_SIGNIN_MAX_PER_ACCOUNT: failures.optional(),
  FAILBACK_SIGNIN_CLIENT_FREE_FAILURES: failures.optional(),
  FAILBACK_SIGNIN_MAX_PER_CLIENT: failures.optional(),
  FAILBACK_SIGNIN_DELAY_SECONDS: z.coerce.number().min(0.1).max(3600).default(1),
  FAILBACK_SIGNIN_MAX_DELAY_SECONDS: z.coerce.number().min(0.1).max(86_400).default(300),
  FAILBACK_SIGNIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(604_800).default(900),
  FAILBACK_TRUST_PROXY: flag.default(false),
  FAILBACK_LAB: flag.default(true),
  FAILBACK_LAB_SIZE: z.enum(["demo", "small"]).default("demo"),
  FAILBACK_WORKER: flag.default(true),
  FAILBACK_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  FAILBACK_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  FAILBACK_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(1),
  FAILBACK_STEP_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  FAILBACK_RETRY_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  FAILBACK_TRANSFER_RANGE_MIB: z.coerce.number().int().min(1).max(4096).optional(),
  FAILBACK_ESTIMATE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(15),
  FAILBACK_WORKER_REQUEST_SECONDS: z.coerce.number().min(0.5).max(600).default(15),
});

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  // An empty variable means "not set", as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.FAILBACK_DATA_DIR);
  return {
    databaseUrl: e.DATABASE_URL,
    port: e.PORT,
    host: e.HOST,
    dataDir,
    embeddedPostgresPort: e.FAILBACK_EMBEDDED_PG_PORT,
    adminPassword: e.FAILBACK_ADMIN_PASSWORD,
    adminEmail: e.FAILBACK_ADMIN_EMAIL,
    signIn: {
      freeFailures: e.FAILBACK_SIGNIN_FREE_FAILURES ?? e.FAILBACK_SIGNIN_MAX_PER_ACCOUNT ?? 5,
      clientFreeFailures: e.FAILBACK_SIGNIN_CLIENT_FREE_FAILURES ?? e.FAILBACK_SIGNIN_MAX_PER_CLIENT ?? 20,
      delaySeconds: e.FAILBACK_SIGNIN_DELAY_SECONDS,
      // Never below the first wait.
      maxDelaySeconds: Math.max(e.FAILBACK_SIGNIN_MAX_DELAY_SECONDS, e.FAILBACK_SIGNIN_DELAY_SECONDS),
      windowSeconds: e.FAILBACK_SIGNIN_WINDOW_SECONDS,
    },
    trustProxy: e.FAILBACK_TRUST_PROXY,
    lab: { createOnStart: e.FAILBACK_LAB, size: e.FAILBACK_LAB_SIZE, dir: path.join(dataDir, "lab") },
    guestCacheDir: path.join(dataDir, "guest-cache"),
    engine: {
      /** Run workers inside the product's process (the embedded default); `npm run worker` runs more. */
      inProcessWorker: e.FAILBACK_WORKER,
      concurrency: e.FAILBACK_WORKER_CONCURRENCY,
      leaseSeconds: e.FAILBACK_LEASE_SECONDS,
      pollSeconds: e.FAILBACK_POLL_SECONDS,
      stepAttempts: e.FAILBACK_STEP_ATTEMPTS,
      retryDelayMs: e.FAILBACK_RETRY_DELAY_MS,
      estimateSeconds: e.FAILBACK_ESTIMATE_SECONDS,
      /** How long the web tier waits for a worker to answer a question (pre-flight facts, …). */
      workerRequestMs: e.FAILBACK_WORKER_REQUEST_SECONDS * 1000,
      transferRangeBytes: e.FAILBACK_TRANSFER_RANGE_MIB ? e.FAILBACK_TRANSFER_RANGE_MIB * 1024 * 1024 : undefined,
    },
    secretKeyHex: e.FAILBACK_SECRET_KEY,
  };
}

let cached: Config | undefined;

/** The validated configuration of this process (read once). */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/**
 * The master secret: FAILBACK_SECRET_KEY, else a key generated once into the data folder.
 * Purpose keys (session signing, secret encryption) are derived from it so one leak does not give both.
 */
export function masterKey(cfg: Config = config()): Buffer {
  if (cfg.secretKeyHex) return Buffer.from(cfg.secretKeyHex, "hex");
  const file = path.join(cfg.dataDir, "secret.key");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o755 });
    const key = crypto.randomBytes(32).toString("hex");
    try {
      // "wx": never overwrite a key another process wrote first; stored secrets depend on it.
      fs.writeFileSync(file, key + "\n", { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  const hex = fs.readFileSync(file, "utf8").trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new ConfigError([`${file}: not a 64-hex-character key`]);
  return Buffer.from(hex, "hex");
}

export function derivedKey(purpose: "auth" | "secrets", cfg: Config = config()): Buffer {
  return Buffer.from(crypto.hkdfSync("sha256", masterKey(cfg), Buffer.alloc(0), `failback:${purpose}`, 32));
}
