-- The scheduler's report of a finished run to the planner is claimed before it is sent.
--
-- The run's own task reports right after solving, and the sweep (every replica's) reports what is still
-- unreported: without a claim, both could send the same report (the planner takes it idempotently by run
-- id, but it is sent, and counted, twice). A claim is a lease: a replica that died holding one leaves it
-- to expire, and the sweep reports the run then.
ALTER TABLE scheduler_runs ADD COLUMN IF NOT EXISTS report_claimed_until timestamptz;
