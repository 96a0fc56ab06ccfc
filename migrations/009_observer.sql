-- The observer-agent's reflections (daily and weekly), the source of truth for what it wrote and for
-- what it still owes: the Coda Daily Thread row, the memory-gateway's daily thread, the insights.
--
-- One reflection per (user, kind, period): a rerun updates it (revision + 1 when its content changed).
-- Each delivery is done when its hash equals content_hash: a changed reflection is owed again.
CREATE TABLE IF NOT EXISTS reflections (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          text NOT NULL CHECK (user_id <> ''),
    kind             text NOT NULL CHECK (kind IN ('daily', 'weekly')),
    -- 'YYYY-MM-DD' (daily) or 'YYYY-Www' (weekly), in the user's time zone.
    period           text NOT NULL CHECK (period ~ '^\d{4}-(\d{2}-\d{2}|W\d{2})$'),
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    time_zone        text NOT NULL,
    metrics          jsonb NOT NULL CHECK (jsonb_typeof(metrics) = 'object'),
    narrative        jsonb NOT NULL CHECK (jsonb_typeof(narrative) = 'object'),
    narrative_source text NOT NULL CHECK (narrative_source IN ('llm', 'offline')),
    model            text,
    prompt_template  jsonb,
    insights         jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(insights) = 'array'),
    warnings         jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(warnings) = 'array'),
    chart_svg        text,
    chart_url        text,
    content_hash     text NOT NULL,
    revision         integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    -- Coda: the request that is writing the current content (and the hash it writes), what was posted.
    coda_request_id  text,
    coda_pending_hash text,
    coda_posted_hash text,
    coda_posted_at   timestamptz,
    coda_attempts    integer NOT NULL DEFAULT 0,
    coda_error       text,
    indexed_hash     text,
    remembered_hash  text,
    -- The sweep's lease: one replica delivers a reflection at a time.
    claimed_until    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reflections_period_order_check CHECK (period_end >= period_start),
    CONSTRAINT reflections_user_kind_period_key UNIQUE (user_id, kind, period)
);
CREATE INDEX IF NOT EXISTS reflections_user_start_idx ON reflections (user_id, period_start DESC);
-- The sweep looks only at reflections that still owe a delivery.
CREATE INDEX IF NOT EXISTS reflections_owed_idx ON reflections (updated_at)
    WHERE coda_posted_hash IS DISTINCT FROM content_hash
       OR indexed_hash IS DISTINCT FROM content_hash
       OR remembered_hash IS DISTINCT FROM content_hash;

-- The observer's prompts, version 1, in the planner's prompt library (edited through the planner's API
-- as new versions; docs/observer.md). The bodies match observer_agent.domain.prompting.DEFAULT_BODIES.
INSERT INTO prompt_templates (name, version, body, variables, active, description) VALUES
('observer.daily', 1, $body$Reflect on the user's day {{period}} ({{time_zone}}).

Measured figures (JSON; every number is final, do not recompute): {{metrics}}
Done: {{done}}
Carried over: {{carried_over}}
Deadlines slipped: {{slipped}}
Events logged: {{events}}

Write: a one-sentence summary; wins; blockers; what slipped and why (one or two sentences); one change for
tomorrow; one to three concrete suggestions, each with the evidence (a figure above) it rests on.$body$,
 '["period", "time_zone", "metrics", "done", "carried_over", "slipped", "events"]'::jsonb, true,
 'The daily reflection: figures in, wins, blockers, what slipped and one change for tomorrow out.'),
('observer.weekly', 1, $body$Reflect on the user's week {{period}} ({{time_zone}}).

Measured figures per day and in total, with the trend against the week before (JSON; every number is
final): {{metrics}}
Done: {{done}}
Still open: {{carried_over}}
Deadlines slipped: {{slipped}}
Events logged: {{events}}

Write: a one-sentence summary; wins; blockers; what slipped and why; one change for next week; one to
three concrete suggestions, each with the evidence (a figure above) it rests on.$body$,
 '["period", "time_zone", "metrics", "done", "carried_over", "slipped", "events"]'::jsonb, true,
 'The weekly reflection: seven days of figures and the trend in, what to change next week out.')
ON CONFLICT (name, version) DO NOTHING;
