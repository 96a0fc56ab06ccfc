-- Leases that let every service run as several replicas over one database: each piece of background work
-- (a hand-over, a run, a calendar read) is taken by one UPDATE that a single worker wins, and held until a
-- moment in the future, so a replica killed mid-work leaves it to expire and another replica takes it over.
-- docs/scaling.md lists them all, with their lengths.

-- planner-engine: the two hand-overs of a plan (to the scheduler, the plan.created event to memory). The
-- request that starts one holds it while it runs; the sweep of any replica takes only what nobody holds.
ALTER TABLE plans
    ADD COLUMN IF NOT EXISTS handover_claimed_until timestamptz,
    ADD COLUMN IF NOT EXISTS event_claimed_until timestamptz;

-- Taking or giving back a lease is bookkeeping, not a change of the plan: its updated_at stays. The columns
-- a trigger leaves out are its arguments; search_tsv is generated after BEFORE triggers run, so NEW does not
-- hold it yet.
CREATE OR REPLACE FUNCTION pma_touch_updated_at_except() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'updated_at' - TG_ARGV) = (to_jsonb(OLD) - 'updated_at' - TG_ARGV) THEN
        NEW.updated_at := OLD.updated_at;
    ELSE
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS plans_touch_updated_at ON plans;
CREATE TRIGGER plans_touch_updated_at BEFORE UPDATE ON plans
    FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at_except('search_tsv', 'handover_claimed_until', 'event_claimed_until');

-- scheduler-engine: a run is executed under a lease, and a user's runs that place blocks one at a time (the
-- holder of the oldest unfinished one holds the user's calendar); see adapters/runs.py.
-- run_attempts counts the workers that took a run: 1 unless one died mid-run (or outlived its lease).
ALTER TABLE scheduler_runs
    ADD COLUMN IF NOT EXISTS run_claimed_until timestamptz,
    ADD COLUMN IF NOT EXISTS run_attempts integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS scheduler_runs_user_unfinished_idx ON scheduler_runs (user_id, created_at)
    WHERE status IN ('pending', 'running') AND NOT dry_run;

-- scheduler-engine: the sweep's read of a user's calendar changes. One replica reads a user per sweep
-- interval; a run's own read (before it places anything) does not wait for it.
ALTER TABLE calendar_sync_state ADD COLUMN IF NOT EXISTS pull_claimed_until timestamptz;
