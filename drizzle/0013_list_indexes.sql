DROP INDEX "audit_log_org_idx";--> statement-breakpoint
DROP INDEX "audit_log_channel_idx";--> statement-breakpoint
DROP INDEX "builds_flavour_idx";--> statement-breakpoint
DROP INDEX "devices_org_idx";--> statement-breakpoint
CREATE INDEX "flavours_org_updated_idx" ON "flavours" USING btree ("org_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "audit_log_org_idx" ON "audit_log" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_channel_idx" ON "audit_log" USING btree ("channel_id","id");--> statement-breakpoint
CREATE INDEX "builds_flavour_idx" ON "builds" USING btree ("flavour_id","created_at","id");--> statement-breakpoint
CREATE INDEX "devices_org_idx" ON "devices" USING btree ("org_id","registered_at","id");