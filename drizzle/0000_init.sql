CREATE TYPE "public"."audit_outcome" AS ENUM('ok', 'denied', 'error');--> statement-breakpoint
CREATE TYPE "public"."event_level" AS ENUM('info', 'warning', 'error');--> statement-breakpoint
CREATE TYPE "public"."item_state" AS ENUM('pending', 'phase1', 'ready_to_switch', 'switching', 'switched', 'committed', 'undone', 'cancelled', 'needs_attention');--> statement-breakpoint
CREATE TYPE "public"."provider_kind" AS ENUM('qemu', 'libvirt');--> statement-breakpoint
CREATE TYPE "public"."replica_state" AS ENUM('ready', 'failover', 'ready_to_switch', 'failback');--> statement-breakpoint
CREATE TYPE "public"."restore_point_kind" AS ENUM('full', 'incremental', 'failback');--> statement-breakpoint
CREATE TYPE "public"."schedule_state" AS ENUM('pending', 'started', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."step_phase" AS ENUM('phase1', 'phase2', 'commit', 'undo', 'cancel');--> statement-breakpoint
CREATE TYPE "public"."step_state" AS ENUM('pending', 'running', 'done', 'failed', 'skipped');--> statement-breakpoint
CREATE TYPE "public"."switch_mode" AS ENUM('auto', 'scheduled', 'manual');--> statement-breakpoint
CREATE TYPE "public"."target_kind" AS ENUM('original', 'recovered', 'new_location');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('admin', 'operator', 'viewer');--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_user_id" uuid,
	"actor_label" text NOT NULL,
	"action" text NOT NULL,
	"outcome" "audit_outcome" NOT NULL,
	"target_type" text,
	"target_id" text,
	"reason" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"client_ip" text,
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "disks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"vm_id" uuid NOT NULL,
	"label" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"locator" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" uuid,
	"item_id" uuid,
	"type" text NOT NULL,
	"level" "event_level" DEFAULT 'info' NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "failback_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"replica_id" uuid NOT NULL,
	"target_kind" "target_kind" NOT NULL,
	"target_vm_id" uuid,
	"target_options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state" "item_state" DEFAULT 'pending' NOT NULL,
	"attention_reason" text,
	"lease_owner" text,
	"lease_attempt" integer DEFAULT 0 NOT NULL,
	"lease_expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "failback_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"state" "item_state" DEFAULT 'pending' NOT NULL,
	"switch_mode" "switch_mode" NOT NULL,
	"quick_rollback" boolean DEFAULT false NOT NULL,
	"power_on_after" boolean DEFAULT true NOT NULL,
	"shutdown_timeout_seconds" integer DEFAULT 900 NOT NULL,
	"reason" text DEFAULT '' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "failback_steps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"item_id" uuid NOT NULL,
	"phase" "step_phase" NOT NULL,
	"seq" integer NOT NULL,
	"name" text NOT NULL,
	"state" "step_state" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"checkpoint" jsonb,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"name" text NOT NULL,
	"provider_kind" "provider_kind" NOT NULL,
	"connection" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"secret_ciphertext" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "replicas" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_vm_id" uuid NOT NULL,
	"replica_vm_id" uuid NOT NULL,
	"state" "replica_state" DEFAULT 'ready' NOT NULL,
	"replication_on_hold" boolean DEFAULT false NOT NULL,
	"last_replicated_at" timestamp with time zone,
	"failed_over_from_restore_point_id" uuid,
	"failed_over_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "restore_points" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"replica_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"kind" "restore_point_kind" NOT NULL,
	"locator" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"size_bytes" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sign_in_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account" text NOT NULL,
	"client" text NOT NULL,
	"succeeded" boolean NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sites" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "switch_schedules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"run_at" timestamp with time zone NOT NULL,
	"time_zone" text NOT NULL,
	"state" "schedule_state" DEFAULT 'pending' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"role" "user_role" NOT NULL,
	"password_hash" text NOT NULL,
	"session_version" integer DEFAULT 1 NOT NULL,
	"disabled_at" timestamp with time zone,
	"last_sign_in_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vms" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"host_id" uuid NOT NULL,
	"external_id" text NOT NULL,
	"name" text NOT NULL,
	"cpus" integer DEFAULT 1 NOT NULL,
	"memory_mib" integer DEFAULT 64 NOT NULL,
	"guest_agent" boolean DEFAULT false NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"retired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "disks" ADD CONSTRAINT "disks_vm_id_vms_id_fk" FOREIGN KEY ("vm_id") REFERENCES "public"."vms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_session_id_failback_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."failback_sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_item_id_failback_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."failback_items"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failback_items" ADD CONSTRAINT "failback_items_session_id_failback_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."failback_sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failback_items" ADD CONSTRAINT "failback_items_replica_id_replicas_id_fk" FOREIGN KEY ("replica_id") REFERENCES "public"."replicas"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failback_items" ADD CONSTRAINT "failback_items_target_vm_id_vms_id_fk" FOREIGN KEY ("target_vm_id") REFERENCES "public"."vms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failback_sessions" ADD CONSTRAINT "failback_sessions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failback_steps" ADD CONSTRAINT "failback_steps_item_id_failback_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."failback_items"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hosts" ADD CONSTRAINT "hosts_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_source_vm_id_vms_id_fk" FOREIGN KEY ("source_vm_id") REFERENCES "public"."vms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_replica_vm_id_vms_id_fk" FOREIGN KEY ("replica_vm_id") REFERENCES "public"."vms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "restore_points" ADD CONSTRAINT "restore_points_replica_id_replicas_id_fk" FOREIGN KEY ("replica_id") REFERENCES "public"."replicas"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "switch_schedules" ADD CONSTRAINT "switch_schedules_session_id_failback_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."failback_sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "switch_schedules" ADD CONSTRAINT "switch_schedules_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vms" ADD CONSTRAINT "vms_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_actor" ON "audit_log" USING btree ("actor_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "disks_vm_label_key" ON "disks" USING btree ("vm_id","label");--> statement-breakpoint
CREATE INDEX "events_session_id" ON "events" USING btree ("session_id","id");--> statement-breakpoint
CREATE INDEX "failback_items_session" ON "failback_items" USING btree ("session_id");--> statement-breakpoint
CREATE UNIQUE INDEX "failback_items_one_live_per_replica" ON "failback_items" USING btree ("replica_id") WHERE state not in ('committed', 'undone', 'cancelled');--> statement-breakpoint
CREATE INDEX "failback_sessions_state" ON "failback_sessions" USING btree ("state");--> statement-breakpoint
CREATE INDEX "failback_sessions_created_at" ON "failback_sessions" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "failback_steps_item_phase_seq_key" ON "failback_steps" USING btree ("item_id","phase","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "hosts_site_name_key" ON "hosts" USING btree ("site_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "replicas_source_vm_key" ON "replicas" USING btree ("source_vm_id");--> statement-breakpoint
CREATE UNIQUE INDEX "replicas_replica_vm_key" ON "replicas" USING btree ("replica_vm_id");--> statement-breakpoint
CREATE INDEX "replicas_state" ON "replicas" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "restore_points_replica_seq_key" ON "restore_points" USING btree ("replica_id","seq");--> statement-breakpoint
CREATE INDEX "sign_in_attempts_account_at" ON "sign_in_attempts" USING btree ("account","at");--> statement-breakpoint
CREATE INDEX "sign_in_attempts_client_at" ON "sign_in_attempts" USING btree ("client","at");--> statement-breakpoint
CREATE UNIQUE INDEX "sites_name_key" ON "sites" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "switch_schedules_one_pending_per_session" ON "switch_schedules" USING btree ("session_id") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "switch_schedules_run_at" ON "switch_schedules" USING btree ("run_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "vms_host_external_key" ON "vms" USING btree ("host_id","external_id");