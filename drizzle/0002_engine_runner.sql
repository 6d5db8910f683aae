ALTER TABLE "failback_items" ADD COLUMN "active_plan" text;--> statement-breakpoint
ALTER TABLE "failback_items" ADD COLUMN "resume_state" "item_state";--> statement-breakpoint
ALTER TABLE "failback_items" ADD COLUMN "switch_requested" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "failback_items" ADD COLUMN "cancel_requested" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "failback_items" ADD COLUMN "original_source_vm_id" uuid;--> statement-breakpoint
ALTER TABLE "failback_items" ADD CONSTRAINT "failback_items_original_source_vm_id_vms_id_fk" FOREIGN KEY ("original_source_vm_id") REFERENCES "public"."vms"("id") ON DELETE no action ON UPDATE no action;