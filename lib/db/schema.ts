// The database schema, read top to bottom: enums, tables, inferred types.
// Migrations are generated from this file into drizzle/ (npm run db:generate) and committed.
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

// ── closed sets ────────────────────────────────────────────────────────────────────────────────
export const userRoles = ["admin", "operator", "viewer"] as const;
export const providerKinds = ["qemu", "libvirt"] as const;
/** Replica states exactly as failback-behaviour.md names them; activity lives on the session. */
export const replicaStates = ["ready", "failover", "ready_to_switch", "failback"] as const;
export const targetKinds = ["original", "recovered", "new_location"] as const;
export const switchModes = ["auto", "scheduled", "manual"] as const;
export const itemStates = [
  "pending",
  "phase1",
  "ready_to_switch",
  "switching",
  "switched",
  "committed",
  "undone",
  "cancelled",
  "needs_attention",
] as const;
export const stepStates = ["pending", "running", "done", "failed", "skipped"] as const;
export const stepPhases = ["phase1", "phase2", "commit", "undo", "cancel"] as const;
export const scheduleStates = ["pending", "started", "cancelled"] as const;
export const restorePointKinds = ["full", "incremental", "failback"] as const;
export const eventLevels = ["info", "warning", "error"] as const;
export const auditOutcomes = ["ok", "denied", "error"] as const;

export const userRole = pgEnum("user_role", userRoles);
export const providerKind = pgEnum("provider_kind", providerKinds);
export const replicaState = pgEnum("replica_state", replicaStates);
export const targetKind = pgEnum("target_kind", targetKinds);
export const switchMode = pgEnum("switch_mode", switchModes);
export const itemState = pgEnum("item_state", itemStates);
export const stepState = pgEnum("step_state", stepStates);
export const stepPhase = pgEnum("step_phase", stepPhases);
export const scheduleState = pgEnum("schedule_state", scheduleStates);
export const restorePointKind = pgEnum("restore_point_kind", restorePointKinds);
export const eventLevel = pgEnum("event_level", eventLevels);
export const auditOutcome = pgEnum("audit_outcome", auditOutcomes);

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

// ── people ─────────────────────────────────────────────────────────────────────────────────────
export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Stored lower-case; sign-in compares lower-case. */
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: userRole("role").notNull(),
    /** argon2id PHC string. */
    passwordHash: text("password_hash").notNull(),
    /** Bumped on role change, disable or password change: older session tokens stop working. */
    sessionVersion: integer("session_version").notNull().default(1),
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    lastSignInAt: timestamp("last_sign_in_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("users_email_key").on(t.email)],
);

/** Sign-in attempts, kept for throttling per account and per client across every app instance. */
export const signInAttempts = pgTable(
  "sign_in_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    account: text("account").notNull(),
    client: text("client").notNull(),
    succeeded: boolean("succeeded").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("sign_in_attempts_account_at").on(t.account, t.at),
    index("sign_in_attempts_client_at").on(t.client, t.at),
  ],
);

// ── estate ─────────────────────────────────────────────────────────────────────────────────────
/**
 * Signed-in browser sessions. The sign-in cookie carries the row's id; a session counts only while its row is
 * neither revoked (sign-out) nor past `expiresAt`, an absolute end that renewing the cookie cannot move.
 */
export const authSessions = pgTable(
  "auth_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("auth_sessions_user").on(t.userId)],
);

/**
 * Refusals of anonymous requests, counted per client address and minute instead of one audit row each (so a
 * flood cannot grow the append-only audit log without bound). A finished minute becomes one audit row with
 * its count, and its counter row is removed in the same transaction: no refusal is dropped.
 */
export const anonymousDenials = pgTable(
  "anonymous_denials",
  {
    clientIp: text("client_ip").notNull(),
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    count: integer("count").notNull().default(0),
    /** How many times each audit action was refused in that minute. */
    actions: jsonb("actions").$type<Record<string, number>>().notNull().default({}),
    userAgent: text("user_agent"),
  },
  (t) => [primaryKey({ columns: [t.clientIp, t.minute] })],
);

export const sites = pgTable(
  "sites",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("sites_name_key").on(t.name)],
);

export const hosts = pgTable(
  "hosts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    siteId: uuid("site_id")
      .notNull()
      .references(() => sites.id),
    name: text("name").notNull(),
    providerKind: providerKind("provider_kind").notNull(),
    /** Non-secret connection settings (a directory for qemu, a URI for libvirt). */
    connection: jsonb("connection").$type<Record<string, unknown>>().notNull().default({}),
    /** Credentials, AES-256-GCM under the server's key (lib/secrets.ts); never sent to a browser. */
    secretCiphertext: text("secret_ciphertext"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("hosts_site_name_key").on(t.siteId, t.name)],
);

export const vms = pgTable(
  "vms",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    hostId: uuid("host_id")
      .notNull()
      .references(() => hosts.id),
    /** The provider's own identity of the VM (a name, a UUID). */
    externalId: text("external_id").notNull(),
    name: text("name").notNull(),
    cpus: integer("cpus").notNull().default(1),
    memoryMib: integer("memory_mib").notNull().default(64),
    guestAgent: boolean("guest_agent").notNull().default(false),
    config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
    /** Set when a failback to a recovered or new VM replaced this one: the product never powers it on again. */
    retiredAt: timestamp("retired_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("vms_host_external_key").on(t.hostId, t.externalId)],
);

export const disks = pgTable(
  "disks",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    vmId: uuid("vm_id")
      .notNull()
      .references(() => vms.id),
    /** Stable label within the VM (vda, vdb, …). */
    label: text("label").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    /** Where the provider finds the disk (a path, a volume key). */
    locator: text("locator").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("disks_vm_label_key").on(t.vmId, t.label)],
);

export const replicas = pgTable(
  "replicas",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceVmId: uuid("source_vm_id")
      .notNull()
      .references(() => vms.id),
    replicaVmId: uuid("replica_vm_id")
      .notNull()
      .references(() => vms.id),
    state: replicaState("state").notNull().default("ready"),
    replicationOnHold: boolean("replication_on_hold").notNull().default(false),
    lastReplicatedAt: timestamp("last_replicated_at", { withTimezone: true }),
    /** The restore point the running replica was failed over from. */
    failedOverFromRestorePointId: uuid("failed_over_from_restore_point_id"),
    failedOverAt: timestamp("failed_over_at", { withTimezone: true }),
    /**
     * What a failback would move, estimated by the workers from change tracking (the replica's writes since
     * failover ∪ the source's changes since the restore point); null when tracking cannot tell.
     */
    estimatedChangedBytes: bigint("estimated_changed_bytes", { mode: "number" }),
    /** Why there is no estimate (change tracking missing or unusable), when there is none. */
    estimateNote: text("estimate_note"),
    estimatedAt: timestamp("estimated_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("replicas_source_vm_key").on(t.sourceVmId),
    uniqueIndex("replicas_replica_vm_key").on(t.replicaVmId),
    index("replicas_state").on(t.state),
  ],
);

export const restorePoints = pgTable(
  "restore_points",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    replicaId: uuid("replica_id")
      .notNull()
      .references(() => replicas.id),
    /** 1, 2, … in the order they were made (rp-1 ← rp-2 ← … on qcow2). */
    seq: integer("seq").notNull(),
    kind: restorePointKind("kind").notNull(),
    /** Provider-specific description of where the point lives (overlay files per disk, …). */
    locator: jsonb("locator").$type<Record<string, unknown>>().notNull().default({}),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("restore_points_replica_seq_key").on(t.replicaId, t.seq)],
);

// ── failback sessions ──────────────────────────────────────────────────────────────────────────
export const failbackSessions = pgTable(
  "failback_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** A summary of the items' states, kept by the engine in the same transaction as item changes. */
    state: itemState("state").notNull().default("pending"),
    switchMode: switchMode("switch_mode").notNull(),
    quickRollback: boolean("quick_rollback").notNull().default(false),
    powerOnAfter: boolean("power_on_after").notNull().default(true),
    shutdownTimeoutSeconds: integer("shutdown_timeout_seconds").notNull().default(900),
    reason: text("reason").notNull().default(""),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [index("failback_sessions_state").on(t.state), index("failback_sessions_created_at").on(t.createdAt)],
);

export const failbackItems = pgTable(
  "failback_items",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => failbackSessions.id),
    replicaId: uuid("replica_id")
      .notNull()
      .references(() => replicas.id),
    targetKind: targetKind("target_kind").notNull(),
    /** The production VM: the source (original), the chosen VM (recovered), or the one created (new_location). */
    targetVmId: uuid("target_vm_id").references(() => vms.id),
    /** new_location settings: site/host, name, storage, CPU/memory/network overrides. */
    targetOptions: jsonb("target_options").$type<Record<string, unknown>>().notNull().default({}),
    state: itemState("state").notNull().default("pending"),
    attentionReason: text("attention_reason"),
    /** The plan being run (phase1, phase2, commit, undo_*, cancel_phase1); null while the item waits. */
    activePlan: text("active_plan"),
    /** Where a needs_attention item stopped: the state a retry returns it to. */
    resumeState: itemState("resume_state"),
    /** Switch now / the scheduled time came / auto mode: phase 2 starts as soon as phase 1 is done. */
    switchRequested: boolean("switch_requested").notNull().default(false),
    /** Cancel asked while phase 1 runs: the runner stops at the next safe point and runs the cancel plan. */
    cancelRequested: boolean("cancel_requested").notNull().default(false),
    /** The replica's source VM when the session started (undo restores it after an identity swap). */
    originalSourceVmId: uuid("original_source_vm_id").references(() => vms.id),
    /** Lease and fencing: every write by a worker is compare-and-set on leaseAttempt. */
    leaseOwner: text("lease_owner"),
    leaseAttempt: integer("lease_attempt").notNull().default(0),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("failback_items_session").on(t.sessionId),
    // One live failback per replica: "replica already in a session" is enforced here, not by hope.
    uniqueIndex("failback_items_one_live_per_replica")
      .on(t.replicaId)
      .where(sql`state not in ('committed', 'undone', 'cancelled')`),
  ],
);

export const failbackSteps = pgTable(
  "failback_steps",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    itemId: uuid("item_id")
      .notNull()
      .references(() => failbackItems.id),
    phase: stepPhase("phase").notNull(),
    seq: integer("seq").notNull(),
    name: text("name").notNull(),
    state: stepState("state").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    /** Resume point of a long step (e.g. the last block range written and read back). */
    checkpoint: jsonb("checkpoint").$type<Record<string, unknown>>(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("failback_steps_item_phase_seq_key").on(t.itemId, t.phase, t.seq)],
);

export const switchSchedules = pgTable(
  "switch_schedules",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => failbackSessions.id),
    /** The instant, in UTC. */
    runAt: timestamp("run_at", { withTimezone: true }).notNull(),
    /** The IANA zone the time was entered in, to show it back the way it was meant. */
    timeZone: text("time_zone").notNull(),
    state: scheduleState("state").notNull().default("pending"),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("switch_schedules_one_pending_per_session")
      .on(t.sessionId)
      .where(sql`state = 'pending'`),
    index("switch_schedules_run_at").on(t.runAt),
  ],
);

/** Progress and history: the id is monotonic, so a reconnecting stream replays after Last-Event-ID. */
export const events = pgTable(
  "events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    sessionId: uuid("session_id").references(() => failbackSessions.id),
    itemId: uuid("item_id").references(() => failbackItems.id),
    type: text("type").notNull(),
    level: eventLevel("level").notNull().default("info"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index("events_session_id").on(t.sessionId, t.id)],
);

/** Append-only: a trigger (drizzle/0001) refuses UPDATE, DELETE and TRUNCATE. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    actorUserId: uuid("actor_user_id"),
    /** The actor as shown at the time (email, "system", "anonymous"): survives renames. */
    actorLabel: text("actor_label").notNull(),
    action: text("action").notNull(),
    outcome: auditOutcome("outcome").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    reason: text("reason"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("audit_log_at").on(t.at), index("audit_log_actor").on(t.actorUserId)],
);

/**
 * API tokens for scripts and the command line: `fbk_<random>`, shown once; only the SHA-256 of the whole token
 * is stored. A token carries no role of its own: every request reads its user's current role and status.
 */
export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    name: text("name").notNull(),
    /** The first characters of the token (`fbk_` + 8), enough to recognise it in a list, useless to an attacker. */
    prefix: text("prefix").notNull(),
    /** Hex SHA-256 of the whole token: the secret is long and random, so a fast hash suffices. */
    secretHash: text("secret_hash").notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("api_tokens_secret_hash_key").on(t.secretHash), index("api_tokens_user").on(t.userId)],
);

/**
 * Questions the web tier asks of a worker (it never drives a hypervisor itself): a row plus a NOTIFY; any worker
 * claims it (skip locked), answers in the row and NOTIFYs back. A question nobody claimed before `expiresAt` is
 * answered "no worker answered" by the asker and is never picked up later.
 */
export const workerRequestStates = ["pending", "claimed", "answered", "failed", "expired"] as const;
export const workerRequests = pgTable(
  "worker_requests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    kind: text("kind").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    state: text("state", { enum: workerRequestStates }).notNull().default("pending"),
    answer: jsonb("answer").$type<unknown>(),
    /** Why the worker could not answer (state failed). */
    error: text("error"),
    claimedBy: text("claimed_by"),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    answeredAt: timestamp("answered_at", { withTimezone: true }),
  },
  (t) => [
    index("worker_requests_pending")
      .on(t.createdAt)
      .where(sql`state = 'pending'`),
  ],
);

// ── inferred types ─────────────────────────────────────────────────────────────────────────────
export type UserRole = (typeof userRoles)[number];
export type ReplicaState = (typeof replicaStates)[number];
export type ItemState = (typeof itemStates)[number];
export type User = typeof users.$inferSelect;
export type Site = typeof sites.$inferSelect;
export type Host = typeof hosts.$inferSelect;
export type Vm = typeof vms.$inferSelect;
export type Disk = typeof disks.$inferSelect;
export type Replica = typeof replicas.$inferSelect;
export type RestorePoint = typeof restorePoints.$inferSelect;
export type FailbackSession = typeof failbackSessions.$inferSelect;
export type FailbackItem = typeof failbackItems.$inferSelect;
export type FailbackStep = typeof failbackSteps.$inferSelect;
export type SwitchSchedule = typeof switchSchedules.$inferSelect;
export type Event = typeof events.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type WorkerRequest = typeof workerRequests.$inferSelect;
export type AuthSession = typeof authSessions.$inferSelect;
