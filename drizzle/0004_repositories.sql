CREATE TABLE "artefact_files" (
	"artefact_digest" text NOT NULL,
	"path" text NOT NULL,
	"type" text NOT NULL,
	"size" bigint NOT NULL,
	"mode" integer NOT NULL,
	"target" text,
	"sha256" text,
	CONSTRAINT "artefact_files_artefact_digest_path_pk" PRIMARY KEY("artefact_digest","path")
);
--> statement-breakpoint
CREATE TABLE "repository_debian_packages" (
	"revision_id" uuid NOT NULL,
	"name" text NOT NULL,
	"architecture" text NOT NULL,
	"version" text NOT NULL,
	"source" text,
	"source_version" text,
	"license" text,
	"homepage" text,
	CONSTRAINT "repository_debian_packages_revision_id_name_architecture_pk" PRIMARY KEY("revision_id","name","architecture")
);
--> statement-breakpoint
CREATE TABLE "repository_packages" (
	"revision_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"category" text NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"requires" jsonb NOT NULL,
	"from_base" boolean NOT NULL,
	"artefact_digest" text NOT NULL,
	"cache_key" text NOT NULL,
	"cached" boolean NOT NULL,
	"build_ms" integer,
	"definition" jsonb NOT NULL,
	CONSTRAINT "repository_packages_revision_id_position_pk" PRIMARY KEY("revision_id","position")
);
--> statement-breakpoint
CREATE TABLE "repository_revisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"flavour_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"build_id" uuid NOT NULL,
	"index" text NOT NULL,
	"index_digest" text NOT NULL,
	"reference" text NOT NULL,
	"manifest_digest" text NOT NULL,
	"package_count" integer NOT NULL,
	"file_count" integer NOT NULL,
	"size" bigint NOT NULL,
	"uncompressed_size" bigint NOT NULL,
	"debian_package_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "artefacts" ADD COLUMN "registry_repository" text;--> statement-breakpoint
ALTER TABLE "artefact_files" ADD CONSTRAINT "artefact_files_artefact_digest_artefacts_digest_fk" FOREIGN KEY ("artefact_digest") REFERENCES "public"."artefacts"("digest") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_debian_packages" ADD CONSTRAINT "repository_debian_packages_revision_id_repository_revisions_id_fk" FOREIGN KEY ("revision_id") REFERENCES "public"."repository_revisions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_packages" ADD CONSTRAINT "repository_packages_revision_id_repository_revisions_id_fk" FOREIGN KEY ("revision_id") REFERENCES "public"."repository_revisions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_packages" ADD CONSTRAINT "repository_packages_artefact_digest_artefacts_digest_fk" FOREIGN KEY ("artefact_digest") REFERENCES "public"."artefacts"("digest") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_revisions" ADD CONSTRAINT "repository_revisions_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_revisions" ADD CONSTRAINT "repository_revisions_flavour_id_flavours_id_fk" FOREIGN KEY ("flavour_id") REFERENCES "public"."flavours"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "repository_revisions" ADD CONSTRAINT "repository_revisions_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "repository_packages_name_idx" ON "repository_packages" USING btree ("revision_id","category","name");--> statement-breakpoint
CREATE INDEX "repository_packages_artefact_idx" ON "repository_packages" USING btree ("artefact_digest");--> statement-breakpoint
CREATE UNIQUE INDEX "repository_revisions_flavour_number_idx" ON "repository_revisions" USING btree ("flavour_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "repository_revisions_build_idx" ON "repository_revisions" USING btree ("build_id");--> statement-breakpoint
-- The file lists recorded so far move into the index table (the JSON column goes in the next migration).
INSERT INTO "artefact_files" ("artefact_digest", "path", "type", "size", "mode", "target")
SELECT DISTINCT ON (a."digest", f."path") a."digest", f."path", f."type", coalesce(f."size", 0), coalesce(f."mode", 0), f."target"
FROM "artefacts" a, jsonb_to_recordset(a."files") AS f("path" text, "type" text, "size" bigint, "mode" integer, "target" text)
WHERE f."path" IS NOT NULL
ORDER BY a."digest", f."path"
ON CONFLICT DO NOTHING;
