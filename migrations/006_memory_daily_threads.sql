-- 006: the memory-gateway's daily threads: a user's daily and weekly reflections, the source of truth of
-- the Qdrant `daily_threads` collection ("days like this one", POST /v1/similar_days).
--
-- Why a table in the memory-gateway when the observer-agent keeps its reflections in its own table: only
-- the memory-gateway opens Qdrant, and every collection it serves must be rebuildable from its own Postgres
-- rows (`pma reindex`, the repair loop, deleting a user). The observer upserts each thread here over HTTP,
-- by its own key for the thread (`thread_key`, e.g. "2026-11-30|daily"), and reads it back by id or period.
-- * content_hash: an upsert of the same kind, period, text and metadata is "unchanged": it writes nothing
--   and embeds nothing.
-- * indexed_at, as on every table mirrored into Qdrant (003): NULL means "not (yet) in the index"; a
--   failed Qdrant write leaves it NULL for the repair loop. An update that changes the thread sets it back
--   to NULL in the same transaction, so a failed re-index is repaired too.
-- * A period is at most 7 days, both ends included (a week: Monday to Sunday). The bound lets a query for
--   the threads overlapping [from, to] scan (user_id, period_start) from `from` - 6 days only.

CREATE TABLE IF NOT EXISTS daily_threads (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      text NOT NULL CHECK (user_id <> ''),
    thread_key   text NOT NULL CHECK (thread_key <> ''),
    kind         text NOT NULL CHECK (kind IN ('daily', 'weekly')),
    period_start date NOT NULL,
    period_end   date NOT NULL,
    text         text NOT NULL CHECK (text <> ''),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    content_hash text NOT NULL,
    indexed_at   timestamptz,
    search_tsv   tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT daily_threads_period_check CHECK (period_end >= period_start AND period_end - period_start < 7),
    CONSTRAINT daily_threads_user_key UNIQUE (user_id, thread_key)
);
CREATE INDEX IF NOT EXISTS daily_threads_user_period_idx ON daily_threads (user_id, period_start);
CREATE INDEX IF NOT EXISTS daily_threads_search_idx ON daily_threads USING gin (search_tsv);
CREATE INDEX IF NOT EXISTS daily_threads_unindexed_idx ON daily_threads (updated_at) WHERE indexed_at IS NULL;

-- As for the other mirrored tables (003): marking a row indexed, or pending again, leaves updated_at alone.
DROP TRIGGER IF EXISTS daily_threads_touch_updated_at ON daily_threads;
CREATE TRIGGER daily_threads_touch_updated_at BEFORE UPDATE ON daily_threads
    FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at_unless_index_only();
