ALTER TABLE "runtime_records" ADD COLUMN "node_id" text;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "node_hostname" text;