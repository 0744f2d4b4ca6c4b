ALTER TABLE "operation_log" ADD COLUMN "exit_code" integer;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "health" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "restart_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD COLUMN "last_exit_code" integer;--> statement-breakpoint
ALTER TABLE "runtime_records" ADD CONSTRAINT "runtime_records_health_check" CHECK ("runtime_records"."health" in ('healthy', 'unhealthy', 'starting', 'none'));