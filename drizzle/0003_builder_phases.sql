ALTER TABLE "build_packages" ADD COLUMN "expected_ms" integer;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "phase" text;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "phase_detail" text;