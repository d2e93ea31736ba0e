CREATE TABLE "cache_prunes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"worker_id" text,
	"max_age_days" integer NOT NULL,
	"removed_images" integer DEFAULT 0 NOT NULL,
	"removed_tags" integer DEFAULT 0 NOT NULL,
	"freed_bytes" bigint DEFAULT 0 NOT NULL,
	"cache_images" integer,
	"cache_bytes" bigint,
	"error" text
);
--> statement-breakpoint
-- Existing flavours keep the repository their images are in: <org slug>/<name>.
ALTER TABLE "flavours" ADD COLUMN "image_repository" text;--> statement-breakpoint
UPDATE "flavours" f SET "image_repository" = o."slug" || '/' || f."name" FROM "orgs" o WHERE o."id" = f."org_id";--> statement-breakpoint
ALTER TABLE "flavours" ALTER COLUMN "image_repository" SET NOT NULL;--> statement-breakpoint
-- Versions that two concurrent Build clicks gave twice (before versions were assigned under a lock) keep their rows:
-- the later ones get a suffix, so the unique indexes below can be made.
UPDATE "builds" b SET "version" = b."version" || '-dup.' || d."n" FROM (
  SELECT "id", row_number() OVER (PARTITION BY "flavour_id", "version" ORDER BY "created_at", "id") - 1 AS "n" FROM "builds"
) d WHERE d."id" = b."id" AND d."n" > 0;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "retry_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "retry_reason" text;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "max_attempts" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "log_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "log_lines" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "log_dropped_lines" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "flavours_image_repository_idx" ON "flavours" USING btree ("image_repository");--> statement-breakpoint
CREATE INDEX "build_packages_cache_key_idx" ON "build_packages" USING btree ("cache_key");--> statement-breakpoint
CREATE UNIQUE INDEX "builds_revision_version_idx" ON "builds" USING btree ("revision_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "builds_flavour_version_idx" ON "builds" USING btree ("flavour_id","version");