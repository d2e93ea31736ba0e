CREATE TABLE "disk_image_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"disk_image_id" uuid NOT NULL,
	"line" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "disk_images" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"build_id" uuid NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"size_bytes" bigint NOT NULL,
	"formats" jsonb NOT NULL,
	"layout" jsonb NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"phase_detail" text,
	"files" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"artifact_ref" text,
	"error" text,
	"job_id" text,
	"worker_id" text,
	"requested_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "disk_image_logs" ADD CONSTRAINT "disk_image_logs_disk_image_id_disk_images_id_fk" FOREIGN KEY ("disk_image_id") REFERENCES "public"."disk_images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "disk_images" ADD CONSTRAINT "disk_images_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "disk_images" ADD CONSTRAINT "disk_images_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "disk_images" ADD CONSTRAINT "disk_images_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "disk_image_logs_image_idx" ON "disk_image_logs" USING btree ("disk_image_id","id");--> statement-breakpoint
CREATE INDEX "disk_images_build_idx" ON "disk_images" USING btree ("build_id","created_at");--> statement-breakpoint
CREATE INDEX "disk_images_status_idx" ON "disk_images" USING btree ("status");