-- Live build pages are woken by the database (LISTEN strata_build_events) instead of polling it. The payload is
-- "<build id> log" (new log lines) or "<build id> state" (something the build page shows changed). Triggers, not the
-- writers, send them: whoever writes (a worker, the reaper, a cancel, a migration) wakes the pages, and only on commit.
CREATE OR REPLACE FUNCTION strata_notify_build_logs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- One notification per build a statement wrote lines for, however many lines the batch held.
  PERFORM pg_notify('strata_build_events', d.build_id::text || ' log') FROM (SELECT DISTINCT build_id FROM new_lines) d;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "build_logs_notify" AFTER INSERT ON "build_logs" REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION strata_notify_build_logs();--> statement-breakpoint
CREATE OR REPLACE FUNCTION strata_notify_build_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The trigger's argument names the build id column. PostgreSQL folds identical notifications of one transaction into one.
  PERFORM pg_notify('strata_build_events', (to_jsonb(NEW) ->> TG_ARGV[0]) || ' state');
  RETURN NULL;
END $$;--> statement-breakpoint
-- Not the heartbeat the worker writes every few seconds, nor the log counters every log batch updates (the log
-- notification covers those): neither is shown on the page, and both would wake every open page constantly.
CREATE TRIGGER "builds_notify" AFTER UPDATE ON "builds" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'heartbeat_at' - 'log_bytes' - 'log_lines') IS DISTINCT FROM (to_jsonb(NEW) - 'heartbeat_at' - 'log_bytes' - 'log_lines'))
  EXECUTE FUNCTION strata_notify_build_state('id');--> statement-breakpoint
CREATE TRIGGER "build_packages_notify" AFTER UPDATE ON "build_packages" FOR EACH ROW
  WHEN (OLD IS DISTINCT FROM NEW)
  EXECUTE FUNCTION strata_notify_build_state('build_id');--> statement-breakpoint
-- The page shows the repository revision a succeeded build was published as.
CREATE TRIGGER "repository_revisions_notify" AFTER INSERT ON "repository_revisions" FOR EACH ROW EXECUTE FUNCTION strata_notify_build_state('build_id');
