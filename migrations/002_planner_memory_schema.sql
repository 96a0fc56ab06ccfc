-- 002: Planner & Memory schema (the seven tables the change proposal names).
--
-- Conventions (docs/data-model.md explains each choice):
-- * Every row carries user_id (non-empty text): the product becomes multi-tenant, so every query is
--   scoped by it, and every index that serves a query starts with it.
-- * Cross-table references are composite (user_id, id) foreign keys, so a row can never point at
--   another user's row, whatever the application does.
-- * Postgres is the source of truth; Qdrant collections are indexes rebuilt from these tables.
-- * Text that is searched has a generated tsvector column with a GIN index (the lexical half of
--   hybrid retrieval). The 'english' configuration stems words; it is fixed here because a
--   generated column needs an immutable expression.
-- * No pgvector: vectors live in Qdrant, so this runs on any Postgres 15+ without extensions.
-- The file applies once (schema_migrations); IF NOT EXISTS guards keep a manual re-run harmless.

CREATE OR REPLACE FUNCTION pma_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- prompt_templates: versioned prompts for the planner and observer. A change is a new version, never
-- an in-place edit; at most one version of a name is active.
CREATE TABLE IF NOT EXISTS prompt_templates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text NOT NULL DEFAULT 'system' CHECK (user_id <> ''),
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]*$'),
    version     integer NOT NULL CHECK (version > 0),
    body        text NOT NULL CHECK (body <> ''),
    variables   jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(variables) = 'array'),
    model       text,
    active      boolean NOT NULL DEFAULT false,
    description text NOT NULL DEFAULT '',
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT prompt_templates_name_version_key UNIQUE (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS prompt_templates_one_active_idx
    ON prompt_templates (name) WHERE active;

-- plans: an intent turned into an SOP and tasks, with its lifecycle.
CREATE TABLE IF NOT EXISTS plans (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            text NOT NULL CHECK (user_id <> ''),
    intent             text NOT NULL CHECK (intent <> ''),
    status             text NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'accepted', 'scheduled', 'in_progress', 'done', 'cancelled')),
    sop                jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(sop) = 'object'),
    tasks              jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(tasks) = 'array'),
    context            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(context) = 'object'),
    constraints        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(constraints) = 'object'),
    due_at             timestamptz,
    planner            text NOT NULL DEFAULT 'offline' CHECK (planner IN ('llm', 'offline', 'imported')),
    model              text,
    prompt_template_id uuid REFERENCES prompt_templates (id) ON DELETE SET NULL,
    usage              jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(usage) = 'object'),
    idempotency_key    text,
    search_tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', intent)) STORED,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plans_user_id_id_key UNIQUE (user_id, id)
);
CREATE INDEX IF NOT EXISTS plans_user_created_idx ON plans (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS plans_user_status_idx ON plans (user_id, status, updated_at DESC);
CREATE INDEX IF NOT EXISTS plans_search_idx ON plans USING gin (search_tsv);
CREATE UNIQUE INDEX IF NOT EXISTS plans_user_idempotency_idx
    ON plans (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- scheduler_runs: one attempt to place a plan's tasks on the calendar; idempotent per key.
CREATE TABLE IF NOT EXISTS scheduler_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         text NOT NULL CHECK (user_id <> ''),
    plan_id         uuid,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'succeeded', 'partial', 'failed', 'cancelled')),
    idempotency_key text,
    calendar_id     text,
    window_start    timestamptz,
    window_end      timestamptz,
    request         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(request) = 'object'),
    result          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(result) = 'object'),
    error           text,
    started_at      timestamptz,
    finished_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduler_runs_window_check CHECK (window_end IS NULL OR window_start IS NULL OR window_end > window_start),
    CONSTRAINT scheduler_runs_plan_fkey FOREIGN KEY (user_id, plan_id)
        REFERENCES plans (user_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS scheduler_runs_user_created_idx ON scheduler_runs (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS scheduler_runs_plan_idx ON scheduler_runs (user_id, plan_id, created_at DESC);
CREATE UNIQUE INDEX IF NOT EXISTS scheduler_runs_user_idempotency_idx
    ON scheduler_runs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- execution_runs: what actually happened when a task or an agent run executed; feeds estimates and
-- the observer. task_id is the task's id inside its plan (tasks get their own table with the planner;
-- see docs/data-model.md), so it has no foreign key yet.
CREATE TABLE IF NOT EXISTS execution_runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           text NOT NULL CHECK (user_id <> ''),
    plan_id           uuid,
    task_id           text,
    run_kind          text NOT NULL DEFAULT 'task' CHECK (run_kind IN ('task', 'agent', 'coding', 'other')),
    subject           text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned')),
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    estimated_minutes integer CHECK (estimated_minutes IS NULL OR estimated_minutes > 0),
    actual_minutes    integer CHECK (actual_minutes IS NULL OR actual_minutes >= 0),
    outcome           text NOT NULL DEFAULT '',
    notes             text NOT NULL DEFAULT '',
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    idempotency_key   text,
    search_tsv        tsvector GENERATED ALWAYS AS (
                          to_tsvector('english', subject || ' ' || outcome || ' ' || notes)) STORED,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT execution_runs_finished_check CHECK (finished_at IS NULL OR finished_at >= started_at),
    CONSTRAINT execution_runs_plan_fkey FOREIGN KEY (user_id, plan_id)
        REFERENCES plans (user_id, id) ON DELETE SET NULL (plan_id)
);
CREATE INDEX IF NOT EXISTS execution_runs_user_started_idx ON execution_runs (user_id, started_at DESC);
CREATE INDEX IF NOT EXISTS execution_runs_plan_idx ON execution_runs (user_id, plan_id);
CREATE INDEX IF NOT EXISTS execution_runs_task_idx ON execution_runs (user_id, task_id) WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS execution_runs_search_idx ON execution_runs USING gin (search_tsv);
CREATE UNIQUE INDEX IF NOT EXISTS execution_runs_user_idempotency_idx
    ON execution_runs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- events: the append-only log of what happened (plan.created, task.done, agent.run, ...), indexed in the
-- Qdrant `events` collection for similar_events.
CREATE TABLE IF NOT EXISTS events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         text NOT NULL CHECK (user_id <> ''),
    event_type      text NOT NULL CHECK (event_type ~ '^[a-z0-9][a-z0-9_.:-]*$'),
    actor           text NOT NULL DEFAULT '',
    subject         text NOT NULL DEFAULT '',
    source          text NOT NULL DEFAULT '',
    summary         text NOT NULL DEFAULT '',
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object'),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    idempotency_key text,
    search_tsv      tsvector GENERATED ALWAYS AS (
                        to_tsvector('english', subject || ' ' || summary)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_user_id_id_key UNIQUE (user_id, id)
);
CREATE INDEX IF NOT EXISTS events_user_occurred_idx ON events (user_id, occurred_at DESC);
CREATE INDEX IF NOT EXISTS events_user_type_occurred_idx ON events (user_id, event_type, occurred_at DESC);
CREATE INDEX IF NOT EXISTS events_search_idx ON events USING gin (search_tsv);
CREATE UNIQUE INDEX IF NOT EXISTS events_user_idempotency_idx
    ON events (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- graph_nodes / graph_edges: the user's knowledge graph (people, projects, tools, SOPs ...) with
-- validity times, traversed by graph_neighbors with a recursive CTE.
CREATE TABLE IF NOT EXISTS graph_nodes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text NOT NULL CHECK (user_id <> ''),
    node_type   text NOT NULL CHECK (node_type <> ''),
    key         text NOT NULL CHECK (key <> ''),
    name        text NOT NULL DEFAULT '',
    properties  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(properties) = 'object'),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    search_tsv  tsvector GENERATED ALWAYS AS (to_tsvector('english', name || ' ' || key)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT graph_nodes_valid_check CHECK (valid_to IS NULL OR valid_to > valid_from),
    CONSTRAINT graph_nodes_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT graph_nodes_natural_key UNIQUE (user_id, node_type, key)
);
CREATE INDEX IF NOT EXISTS graph_nodes_user_type_idx ON graph_nodes (user_id, node_type, updated_at DESC);
CREATE INDEX IF NOT EXISTS graph_nodes_search_idx ON graph_nodes USING gin (search_tsv);

CREATE TABLE IF NOT EXISTS graph_edges (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text NOT NULL CHECK (user_id <> ''),
    source_id   uuid NOT NULL,
    target_id   uuid NOT NULL,
    relation    text NOT NULL CHECK (relation ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]*$'),
    properties  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(properties) = 'object'),
    weight      double precision NOT NULL DEFAULT 1.0,
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT graph_edges_valid_check CHECK (valid_to IS NULL OR valid_to > valid_from),
    CONSTRAINT graph_edges_unique UNIQUE (user_id, source_id, relation, target_id),
    CONSTRAINT graph_edges_source_fkey FOREIGN KEY (user_id, source_id)
        REFERENCES graph_nodes (user_id, id) ON DELETE CASCADE,
    CONSTRAINT graph_edges_target_fkey FOREIGN KEY (user_id, target_id)
        REFERENCES graph_nodes (user_id, id) ON DELETE CASCADE
);
-- Adjacency in both directions: outgoing (the unique constraint's index serves source lookups) and incoming.
CREATE INDEX IF NOT EXISTS graph_edges_target_idx ON graph_edges (user_id, target_id, relation);

-- updated_at is maintained by the database, so no code path can forget it.
DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['prompt_templates', 'plans', 'scheduler_runs', 'execution_runs',
                                      'events', 'graph_nodes', 'graph_edges']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I_touch_updated_at ON %I', table_name, table_name);
        EXECUTE format(
            'CREATE TRIGGER %I_touch_updated_at BEFORE UPDATE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at()',
            table_name, table_name);
    END LOOP;
END;
$$;
