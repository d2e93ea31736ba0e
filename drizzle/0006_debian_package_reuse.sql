ALTER TABLE "repository_revisions" ADD COLUMN "image_key" text;--> statement-breakpoint
CREATE INDEX "repository_debian_packages_version_idx" ON "repository_debian_packages" USING btree ("name","architecture","version");--> statement-breakpoint
CREATE INDEX "repository_revisions_image_key_idx" ON "repository_revisions" USING btree ("image_key");