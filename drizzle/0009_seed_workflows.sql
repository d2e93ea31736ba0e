ALTER TABLE "flavour_revisions" ADD COLUMN "excluded_packages" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "flavours" ADD COLUMN "scratch_rebuild_days" integer;--> statement-breakpoint
ALTER TABLE "flavours" ADD COLUMN "scratch_rebuild_from" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "build_packages" ADD COLUMN "previous_artefact_digest" text;--> statement-breakpoint
ALTER TABLE "build_packages" ADD COLUMN "changes" jsonb;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "kind" text DEFAULT 'build' NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "from_scratch" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "scheduled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "parent_build_id" uuid;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "source_reference" text;--> statement-breakpoint
CREATE INDEX "builds_parent_idx" ON "builds" USING btree ("parent_build_id");