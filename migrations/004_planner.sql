-- 004: planner-engine: tasks get a table of their own, the SOP library, plan bookkeeping, seeded prompts.
--
-- Why a tasks table instead of the plans.tasks array of 002: a task needs an identity of its own. Replans
-- keep the ids of tasks that survive; tasks imported from Coda (through n8n) are upserted by their
-- external_ref, with or without a plan; execution_runs and the scheduler refer to a task by id. An array
-- inside the plan row gives none of that, so plans.tasks is dropped (nothing wrote it before this file).

ALTER TABLE plans DROP COLUMN IF EXISTS tasks;

CREATE TABLE IF NOT EXISTS tasks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           text NOT NULL CHECK (user_id <> ''),
    plan_id           uuid,
    -- The task's key inside its plan (what the planner's dependencies refer to); NULL when imported.
    key               text,
    position          integer NOT NULL DEFAULT 0,
    title             text NOT NULL CHECK (title <> ''),
    description       text NOT NULL DEFAULT '',
    estimate_minutes  integer NOT NULL CHECK (estimate_minutes > 0),
    priority          text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    earliest_start    timestamptz,
    deadline          timestamptz,
    depends_on        uuid[] NOT NULL DEFAULT '{}',
    splittable        boolean NOT NULL DEFAULT false,
    min_chunk_minutes integer CHECK (min_chunk_minutes IS NULL OR min_chunk_minutes > 0),
    tags              text[] NOT NULL DEFAULT '{}',
    step              integer CHECK (step IS NULL OR step > 0),
    status            text NOT NULL DEFAULT 'todo'
                      CHECK (status IN ('todo', 'scheduled', 'in_progress', 'done', 'cancelled')),
    source            text NOT NULL DEFAULT 'planner',
    external_ref      text,
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    search_tsv        tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || description)) STORED,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT tasks_window_check CHECK (deadline IS NULL OR earliest_start IS NULL OR deadline > earliest_start),
    CONSTRAINT tasks_chunk_check CHECK (min_chunk_minutes IS NULL OR min_chunk_minutes <= estimate_minutes),
    CONSTRAINT tasks_plan_fkey FOREIGN KEY (user_id, plan_id) REFERENCES plans (user_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS tasks_plan_idx ON tasks (user_id, plan_id, position);
CREATE INDEX IF NOT EXISTS tasks_user_status_idx ON tasks (user_id, status, updated_at DESC);
CREATE INDEX IF NOT EXISTS tasks_search_idx ON tasks USING gin (search_tsv);
-- Importing the same Coda row again updates its task: (user_id, external_ref) is its identity.
CREATE UNIQUE INDEX IF NOT EXISTS tasks_user_external_ref_idx
    ON tasks (user_id, external_ref) WHERE external_ref IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tasks_plan_key_idx ON tasks (plan_id, key) WHERE plan_id IS NOT NULL AND key IS NOT NULL;

-- execution_runs.task_id becomes a real reference now that tasks have ids (text -> uuid; a value that
-- is not a uuid cannot name a task, so it becomes NULL rather than failing the migration).
ALTER TABLE execution_runs
    ALTER COLUMN task_id TYPE uuid
    USING CASE WHEN task_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN task_id::uuid END;
ALTER TABLE execution_runs DROP CONSTRAINT IF EXISTS execution_runs_task_fkey;
ALTER TABLE execution_runs ADD CONSTRAINT execution_runs_task_fkey
    FOREIGN KEY (user_id, task_id) REFERENCES tasks (user_id, id) ON DELETE SET NULL (task_id);

-- sops: the SOP library. A version is immutable; an edit inserts version + 1 under the same name. The
-- embedding (of title, intent and steps) is matched against new intents in the planner; `embedder` names
-- its vector space, so a changed embedder re-embeds instead of comparing incompatible vectors.
CREATE TABLE IF NOT EXISTS sops (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        text NOT NULL CHECK (user_id <> ''),
    name           text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]*$'),
    version        integer NOT NULL CHECK (version > 0),
    title          text NOT NULL CHECK (title <> ''),
    summary        text NOT NULL DEFAULT '',
    intent         text NOT NULL DEFAULT '',
    steps          jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
    tasks          jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(tasks) = 'array'),
    tags           text[] NOT NULL DEFAULT '{}',
    source_plan_id uuid,
    embedding      real[],
    embedder       text,
    search_tsv     tsvector GENERATED ALWAYS AS (
                       to_tsvector('english', title || ' ' || intent || ' ' || summary)) STORED,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sops_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT sops_name_version_key UNIQUE (user_id, name, version),
    CONSTRAINT sops_plan_fkey FOREIGN KEY (user_id, source_plan_id)
        REFERENCES plans (user_id, id) ON DELETE SET NULL (source_plan_id)
);
CREATE INDEX IF NOT EXISTS sops_search_idx ON sops USING gin (search_tsv);

-- plans: what a plan was based on, its revision, how it was made, and the two hand-overs that must not
-- be lost when the other side is down: scheduling (scheduler-engine) and the plan.created event (memory).
ALTER TABLE plans
    ADD COLUMN IF NOT EXISTS sop_id uuid,
    ADD COLUMN IF NOT EXISTS revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    ADD COLUMN IF NOT EXISTS trace_id text,
    ADD COLUMN IF NOT EXISTS recalled jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(recalled) = 'array'),
    ADD COLUMN IF NOT EXISTS warnings text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS scheduling_state text NOT NULL DEFAULT 'not_requested'
        CHECK (scheduling_state IN ('not_requested', 'pending', 'requested')),
    ADD COLUMN IF NOT EXISTS scheduler_run_id uuid,
    ADD COLUMN IF NOT EXISTS scheduling_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS scheduling_error text,
    ADD COLUMN IF NOT EXISTS scheduling_requested_at timestamptz,
    ADD COLUMN IF NOT EXISTS event_recorded_at timestamptz;
ALTER TABLE plans DROP CONSTRAINT IF EXISTS plans_sop_fkey;
ALTER TABLE plans ADD CONSTRAINT plans_sop_fkey
    FOREIGN KEY (user_id, sop_id) REFERENCES sops (user_id, id) ON DELETE SET NULL (sop_id);
-- The retry sweep looks only at plans with a hand-over outstanding.
CREATE INDEX IF NOT EXISTS plans_scheduling_pending_idx ON plans (updated_at) WHERE scheduling_state = 'pending';
CREATE INDEX IF NOT EXISTS plans_event_pending_idx ON plans (created_at) WHERE event_recorded_at IS NULL;

DROP TRIGGER IF EXISTS tasks_touch_updated_at ON tasks;
CREATE TRIGGER tasks_touch_updated_at BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at();

-- The planner's prompts, version 1. Edits go through the API as new versions (docs/planner.md).
INSERT INTO prompt_templates (name, version, body, variables, active, description) VALUES
('planner.plan', 1, $body$Turn the user's intent into a standard operating procedure (SOP) and the tasks that carry it out.

Intent: {{intent}}
Context from the user: {{context}}
Due: {{due_at}}
Now: {{now}}
Constraints: {{constraints}}
What memory recalls about this user (preferences, past plans, decisions):
{{recalled}}
How long this user's work really takes: {{estimate_accuracy}}

Rules:
- The SOP has 2 to 12 ordered steps; each has a purpose, its inputs and concrete done-criteria.
- Tasks carry out the steps: each has a short unique key (t1, t2, ...), an estimate in whole minutes
  (5 to 480; split anything longer into several tasks), a priority (low, normal, high, urgent), the SOP
  step it belongs to (1-based), and depends_on listing the keys of tasks that must finish first. No cycles.
- Honour the recalled preferences and constraints; scale estimates by the user's real accuracy.
- Set a deadline on tasks only when the due date or the context requires one, never after the due date.
- Deep-work tasks of more than 90 minutes are splittable with a min_chunk_minutes of at least 30.$body$,
 '["intent", "context", "due_at", "now", "constraints", "recalled", "estimate_accuracy"]'::jsonb, true,
 'Plan an intent from scratch.'),
('planner.adapt', 1, $body$Adapt a saved SOP of this user to a new intent, keeping what still applies and changing what must.

Saved SOP ({{sop_name}} v{{sop_version}}):
{{sop}}

New intent: {{intent}}
Context from the user: {{context}}
Due: {{due_at}}
Now: {{now}}
Constraints: {{constraints}}
What memory recalls about this user:
{{recalled}}
How long this user's work really takes: {{estimate_accuracy}}

Rules: keep the SOP's structure where it fits; return the whole adapted SOP and its tasks. Tasks have short
unique keys, estimates in whole minutes (5 to 480), a priority, their SOP step, and depends_on keys with no
cycles. Deadlines never fall after the due date.$body$,
 '["sop_name", "sop_version", "sop", "intent", "context", "due_at", "now", "constraints", "recalled", "estimate_accuracy"]'::jsonb,
 true, 'Plan an intent by adapting a saved SOP.'),
('planner.replan', 1, $body$Revise this plan according to the user's feedback.

Intent: {{intent}}
Current plan (SOP and tasks, with their keys):
{{plan}}

Feedback: {{feedback}}
Now: {{now}}

Rules: return the whole revised SOP and task list. Keep the key of every task that survives (even when you
change its title, estimate or dependencies); give new tasks new keys; leave out tasks that should go.
Estimates are whole minutes (5 to 480); depends_on lists keys; no cycles.$body$,
 '["intent", "plan", "feedback", "now"]'::jsonb, true, 'Revise a plan from feedback.')
ON CONFLICT (name, version) DO NOTHING;
