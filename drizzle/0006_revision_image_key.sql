ALTER TABLE "repository_revisions" ADD COLUMN "image_key" text;--> statement-breakpoint
CREATE INDEX "repository_revisions_image_key_idx" ON "repository_revisions" USING btree ("image_key");