ALTER TABLE "operation_log" ADD COLUMN "image_digest" text;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "current_image_digest" text;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "effective_cpu_quota" double precision;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "effective_memory_bytes" bigint;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "effective_pids_limit" bigint;