CREATE TABLE "health_snapshots" (
	"game_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"event_type" text NOT NULL,
	"container_id" text NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operation_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "operation_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"game_id" text COLLATE "C" NOT NULL,
	"op_kind" text NOT NULL,
	"op_source" text NOT NULL,
	"source_ref" text DEFAULT '' NOT NULL,
	"image_ref" text DEFAULT '' NOT NULL,
	"container_id" text DEFAULT '' NOT NULL,
	"outcome" text NOT NULL,
	"error_code" text DEFAULT '' NOT NULL,
	"error_message" text DEFAULT '' NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"finished_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runtime_records" (
	"game_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"current_container_id" text,
	"current_image_ref" text,
	"engine_endpoint" text,
	"state_path" text,
	"docker_network" text,
	"started_at" timestamp (3) with time zone,
	"stopped_at" timestamp (3) with time zone,
	"last_op_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "runtime_records_status_check" CHECK ("runtime_records"."status" in ('running', 'stopped', 'exited', 'removed'))
);
--> statement-breakpoint
CREATE INDEX "operation_log_game_id_id_idx" ON "operation_log" USING btree ("game_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "operation_log_game_id_op_kind_id_idx" ON "operation_log" USING btree ("game_id","op_kind","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "runtime_records_status_game_id_idx" ON "runtime_records" USING btree ("status","game_id");