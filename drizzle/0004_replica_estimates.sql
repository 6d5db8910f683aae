ALTER TABLE "replicas" ADD COLUMN "estimated_changed_bytes" bigint;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "estimate_note" text;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "estimated_at" timestamp with time zone;