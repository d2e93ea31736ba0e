-- Trigram search on paths; pg_trgm ships with PostgreSQL and is a trusted extension (the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
ALTER TABLE "repository_revisions" ADD COLUMN "image_key" text;--> statement-breakpoint
CREATE INDEX "artefact_files_path_trgm_idx" ON "artefact_files" USING gin ("path" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "repository_revisions_image_key_idx" ON "repository_revisions" USING btree ("image_key");