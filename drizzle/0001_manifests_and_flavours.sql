CREATE TABLE "base_manifests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"header" jsonb NOT NULL,
	"packages" jsonb NOT NULL,
	"source" text NOT NULL,
	"published_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "flavour_revisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"flavour_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"base_manifest_id" uuid NOT NULL,
	"layers" jsonb NOT NULL,
	"message" text DEFAULT '' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "flavours" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "base_manifests" ADD CONSTRAINT "base_manifests_published_by_users_id_fk" FOREIGN KEY ("published_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flavour_revisions" ADD CONSTRAINT "flavour_revisions_flavour_id_flavours_id_fk" FOREIGN KEY ("flavour_id") REFERENCES "public"."flavours"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flavour_revisions" ADD CONSTRAINT "flavour_revisions_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flavour_revisions" ADD CONSTRAINT "flavour_revisions_base_manifest_id_base_manifests_id_fk" FOREIGN KEY ("base_manifest_id") REFERENCES "public"."base_manifests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flavour_revisions" ADD CONSTRAINT "flavour_revisions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flavours" ADD CONSTRAINT "flavours_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flavours" ADD CONSTRAINT "flavours_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "base_manifests_name_version_idx" ON "base_manifests" USING btree ("name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "flavour_revisions_flavour_number_idx" ON "flavour_revisions" USING btree ("flavour_id","number");--> statement-breakpoint
CREATE INDEX "flavour_revisions_org_idx" ON "flavour_revisions" USING btree ("org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "flavours_org_name_idx" ON "flavours" USING btree ("org_id","name");