-- 005: scheduler-engine: runs with their solver figures, calendar blocks (the source of truth the calendars
-- are synced from), scheduling profiles, ICS feed tokens and the changes users make on their calendars;
-- the planner learns each run's blocks.
--
-- Why blocks get a table: a block is what the user sees on a calendar and may move or delete there. It
-- needs an identity (the Google event id and the ICS UID are derived from it), a sequence number that grows
-- with every move, and a history across runs (a reschedule reads the previous blocks to keep them still).
-- None of that fits the run's result document.
--
-- Why scheduler_runs loses its foreign key to plans: each service owns its tables and learns of the
-- others' rows over HTTP. A run may be inline tasks with no plan, and the scheduler's own tests run
-- without the planner; a plan id is a reference across services, like an external id.

ALTER TABLE scheduler_runs DROP CONSTRAINT IF EXISTS scheduler_runs_plan_fkey;
ALTER TABLE scheduler_runs
    ADD COLUMN IF NOT EXISTS plan_revision integer CHECK (plan_revision IS NULL OR plan_revision > 0),
    ADD COLUMN IF NOT EXISTS dry_run boolean NOT NULL DEFAULT false,
    -- sha256 of the canonical request: a retried hand-over with another body under the same key is refused.
    ADD COLUMN IF NOT EXISTS input_hash text,
    ADD COLUMN IF NOT EXISTS solver_status text,
    ADD COLUMN IF NOT EXISTS objective double precision,
    ADD COLUMN IF NOT EXISTS bound double precision,
    ADD COLUMN IF NOT EXISTS solve_ms double precision,
    ADD COLUMN IF NOT EXISTS moved integer,
    -- When the planner took the run's outcome (NULL: still to tell it; the scheduler's sweep retries).
    ADD COLUMN IF NOT EXISTS planner_notified_at timestamptz,
    ADD COLUMN IF NOT EXISTS calendar_synced_at timestamptz,
    ADD COLUMN IF NOT EXISTS calendar_error text;
CREATE INDEX IF NOT EXISTS scheduler_runs_notify_idx ON scheduler_runs (finished_at)
    WHERE planner_notified_at IS NULL AND plan_id IS NOT NULL AND dry_run = false;
CREATE INDEX IF NOT EXISTS scheduler_runs_pending_idx ON scheduler_runs (created_at)
    WHERE status IN ('pending', 'running');

CREATE TABLE IF NOT EXISTS scheduling_profiles (
    user_id    text PRIMARY KEY CHECK (user_id <> ''),
    profile    jsonb NOT NULL CHECK (jsonb_typeof(profile) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS calendar_blocks (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    text NOT NULL CHECK (user_id <> ''),
    run_id     uuid NOT NULL REFERENCES scheduler_runs (id) ON DELETE CASCADE,
    plan_id    uuid,
    task_id    uuid NOT NULL,
    title      text NOT NULL,
    start_at   timestamptz NOT NULL,
    end_at     timestamptz NOT NULL,
    -- planned: on the calendar; done: its time passed (or the user said so); deleted: the user removed it;
    -- replaced: a later run superseded it.
    status     text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done', 'deleted', 'replaced')),
    -- The user moved it on their calendar: the next run keeps it where they put it.
    pinned     boolean NOT NULL DEFAULT false,
    sequence   integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calendar_blocks_time_check CHECK (end_at > start_at)
);
CREATE INDEX IF NOT EXISTS calendar_blocks_user_time_idx ON calendar_blocks (user_id, start_at) WHERE status <> 'replaced';
CREATE INDEX IF NOT EXISTS calendar_blocks_run_idx ON calendar_blocks (run_id);
CREATE INDEX IF NOT EXISTS calendar_blocks_task_idx ON calendar_blocks (user_id, task_id);

-- The unguessable token of a user's ICS feed URL (GET /v1/calendars/{user_id}.ics?token=...).
CREATE TABLE IF NOT EXISTS calendar_feeds (
    user_id    text PRIMARY KEY CHECK (user_id <> ''),
    token      text NOT NULL UNIQUE CHECK (length(token) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- What users did to our blocks on their calendars, for GET /v1/changes (the Calendar -> Coda workflow).
CREATE TABLE IF NOT EXISTS calendar_changes (
    id          bigserial PRIMARY KEY,
    user_id     text NOT NULL CHECK (user_id <> ''),
    block_id    uuid NOT NULL,
    task_id     uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('moved', 'deleted', 'done')),
    start_at    timestamptz,
    end_at      timestamptz,
    detected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS calendar_changes_user_idx ON calendar_changes (user_id, detected_at);

-- Where the incremental read of each user's Google calendar stands (its nextSyncToken).
CREATE TABLE IF NOT EXISTS calendar_sync_state (
    user_id    text PRIMARY KEY CHECK (user_id <> ''),
    cursor     text,
    paused_until timestamptz,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Google OAuth: each user's refresh token, encrypted (Fernet, key GOOGLE_TOKEN_KEY; never stored in the
-- clear, never logged), and the single-use state of a consent flow in progress (PKCE verifier included).
CREATE TABLE IF NOT EXISTS google_credentials (
    user_id       text PRIMARY KEY CHECK (user_id <> ''),
    refresh_token bytea NOT NULL,
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS google_oauth_states (
    state         text PRIMARY KEY CHECK (length(state) >= 32),
    user_id       text NOT NULL CHECK (user_id <> ''),
    code_verifier text NOT NULL,
    redirect_uri  text NOT NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- The planner's side, as the scheduler reports it over HTTP: each task's blocks and how it fares against
-- its deadline (contracts.tasks.TaskSchedule), and the plan's last finished run (contracts.plans.ScheduleOutcome).
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS schedule_outcome jsonb
    CHECK (schedule_outcome IS NULL OR jsonb_typeof(schedule_outcome) = 'object');
ALTER TABLE plans ADD COLUMN IF NOT EXISTS schedule_result jsonb
    CHECK (schedule_result IS NULL OR jsonb_typeof(schedule_result) = 'object');

DROP TRIGGER IF EXISTS scheduling_profiles_touch_updated_at ON scheduling_profiles;
CREATE TRIGGER scheduling_profiles_touch_updated_at BEFORE UPDATE ON scheduling_profiles
    FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at();
DROP TRIGGER IF EXISTS calendar_blocks_touch_updated_at ON calendar_blocks;
CREATE TRIGGER calendar_blocks_touch_updated_at BEFORE UPDATE ON calendar_blocks
    FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at();
