CREATE TABLE "artefacts" (
	"digest" text PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"uncompressed_size" bigint NOT NULL,
	"file_count" integer NOT NULL,
	"compression" text NOT NULL,
	"files" jsonb NOT NULL,
	"deleted" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "build_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"build_id" uuid NOT NULL,
	"package_id" text,
	"line" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "build_packages" (
	"build_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"package_id" text NOT NULL,
	"version" text NOT NULL,
	"from_base" boolean NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"cache_key" text,
	"cached" boolean,
	"step" integer,
	"steps" integer,
	"image_id" text,
	"artefact_digest" text,
	"duration_ms" integer,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "build_packages_build_id_position_pk" PRIMARY KEY("build_id","position")
);
--> statement-breakpoint
CREATE TABLE "builds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"flavour_id" uuid NOT NULL,
	"revision_id" uuid NOT NULL,
	"revision_number" integer NOT NULL,
	"version" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"total_packages" integer NOT NULL,
	"done_packages" integer DEFAULT 0 NOT NULL,
	"current_package" text,
	"image_ref" text,
	"image_digest" text,
	"image_size" bigint,
	"error" text,
	"attempt" integer DEFAULT 0 NOT NULL,
	"retry_of" uuid,
	"job_id" text,
	"started_by" uuid,
	"worker_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"cancel_requested_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "build_logs" ADD CONSTRAINT "build_logs_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "build_packages" ADD CONSTRAINT "build_packages_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "builds" ADD CONSTRAINT "builds_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "builds" ADD CONSTRAINT "builds_flavour_id_flavours_id_fk" FOREIGN KEY ("flavour_id") REFERENCES "public"."flavours"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "builds" ADD CONSTRAINT "builds_revision_id_flavour_revisions_id_fk" FOREIGN KEY ("revision_id") REFERENCES "public"."flavour_revisions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "builds" ADD CONSTRAINT "builds_started_by_users_id_fk" FOREIGN KEY ("started_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "build_logs_build_idx" ON "build_logs" USING btree ("build_id","id");--> statement-breakpoint
CREATE INDEX "builds_flavour_idx" ON "builds" USING btree ("flavour_id","created_at");--> statement-breakpoint
CREATE INDEX "builds_status_idx" ON "builds" USING btree ("status");