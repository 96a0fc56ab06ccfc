-- scheduler-engine: who holds a run's lease. A worker whose claim was taken but whose answer was lost (Postgres
-- went away between the UPDATE and its reply) takes its own claim back when it tries again, instead of
-- waiting for the lease to expire; anyone else still waits for it.
ALTER TABLE scheduler_runs ADD COLUMN IF NOT EXISTS run_claimed_by uuid;
