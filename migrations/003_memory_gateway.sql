-- 003: the memory-gateway's own tables, and index bookkeeping for what it mirrors into Qdrant.
--
-- Why new tables instead of reusing 002's:
-- * memories: long-term memories are curated, deduplicated, updated and superseded (bi-temporal:
--   valid_from / valid_to, never deleted by a contradiction), unlike the append-only `events` log.
--   Their history is kept in memory_history, so an update or a supersession can always be explained.
-- * documents / doc_chunks: ingested documents and their chunks, the source of truth of the Qdrant
--   `doc_chunks` collection; re-ingesting a document replaces its chunks in one transaction.
-- * indexed_at on every table mirrored into Qdrant: NULL means "not (yet) in the index". A Qdrant write
--   that failed leaves the row NULL, and the gateway's repair loop (or `pma reindex`) retries it, so
--   Postgres and Qdrant never disagree silently.

CREATE TABLE IF NOT EXISTS memories (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         text NOT NULL CHECK (user_id <> ''),
    kind            text NOT NULL CHECK (kind IN ('fact', 'preference', 'decision', 'observation',
                                                  'reflection', 'goal', 'instruction', 'summary')),
    text            text NOT NULL CHECK (text <> ''),
    -- Optional slot ("work.start_time"): a newer memory with the same key supersedes the older one.
    key             text CHECK (key IS NULL OR key <> ''),
    source          text NOT NULL DEFAULT '',
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    importance      real NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_to        timestamptz,
    superseded_by   uuid,
    expires_at      timestamptz,
    idempotency_key text,
    content_hash    text NOT NULL,
    indexed_at      timestamptz,
    search_tsv      tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memories_valid_check CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CONSTRAINT memories_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT memories_superseded_by_fkey FOREIGN KEY (user_id, superseded_by)
        REFERENCES memories (user_id, id) ON DELETE SET NULL (superseded_by)
);
CREATE INDEX IF NOT EXISTS memories_user_created_idx ON memories (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS memories_user_kind_idx ON memories (user_id, kind, created_at DESC);
CREATE INDEX IF NOT EXISTS memories_search_idx ON memories USING gin (search_tsv);
CREATE INDEX IF NOT EXISTS memories_current_key_idx ON memories (user_id, key) WHERE key IS NOT NULL AND valid_to IS NULL;
CREATE INDEX IF NOT EXISTS memories_hash_idx ON memories (user_id, content_hash) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS memories_unindexed_idx ON memories (updated_at) WHERE indexed_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS memories_user_idempotency_idx
    ON memories (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE IF NOT EXISTS memory_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     text NOT NULL CHECK (user_id <> ''),
    memory_id   uuid NOT NULL,
    action      text NOT NULL CHECK (action IN ('created', 'updated', 'merged', 'superseded', 'invalidated')),
    old_text    text,
    new_text    text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Forgetting a memory forgets its history too.
    CONSTRAINT memory_history_memory_fkey FOREIGN KEY (user_id, memory_id)
        REFERENCES memories (user_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS memory_history_memory_idx ON memory_history (user_id, memory_id, id);

-- One counter per user, bumped in the same transaction as any write to the user's memories. Cached
-- recall results are keyed by it, so a write invalidates them at once, even if Valkey was down when it
-- happened (a counter kept in Valkey would miss that write and serve stale results until they expire).
CREATE TABLE IF NOT EXISTS recall_generations (
    user_id    text PRIMARY KEY CHECK (user_id <> ''),
    generation bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS documents (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      text NOT NULL CHECK (user_id <> ''),
    -- The caller's stable name for the document (a URL, a path, a Coda doc id): re-ingest replaces.
    doc_key      text NOT NULL CHECK (doc_key <> ''),
    title        text NOT NULL DEFAULT '',
    source       text NOT NULL DEFAULT '',
    media_type   text NOT NULL DEFAULT 'text/markdown' CHECK (media_type IN ('text/markdown', 'text/plain')),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    content_hash text NOT NULL,
    chunk_count  integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_user_key UNIQUE (user_id, doc_key),
    CONSTRAINT documents_user_id_id_key UNIQUE (user_id, id)
);

CREATE TABLE IF NOT EXISTS doc_chunks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      text NOT NULL CHECK (user_id <> ''),
    document_id  uuid NOT NULL,
    ordinal      integer NOT NULL CHECK (ordinal >= 0),
    heading_path text[] NOT NULL DEFAULT '{}',
    text         text NOT NULL CHECK (text <> ''),
    indexed_at   timestamptz,
    search_tsv   tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT doc_chunks_document_fkey FOREIGN KEY (user_id, document_id)
        REFERENCES documents (user_id, id) ON DELETE CASCADE,
    CONSTRAINT doc_chunks_ordinal_key UNIQUE (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS doc_chunks_user_idx ON doc_chunks (user_id, document_id);
CREATE INDEX IF NOT EXISTS doc_chunks_search_idx ON doc_chunks USING gin (search_tsv);
CREATE INDEX IF NOT EXISTS doc_chunks_unindexed_idx ON doc_chunks (updated_at) WHERE indexed_at IS NULL;

-- Events are mirrored into the Qdrant `events` collection for similar_events.
ALTER TABLE events ADD COLUMN IF NOT EXISTS indexed_at timestamptz;
CREATE INDEX IF NOT EXISTS events_unindexed_idx ON events (updated_at) WHERE indexed_at IS NULL;

-- updated_at says when a row's content changed. Marking a row indexed (or pending again for a reindex) is
-- bookkeeping, not a change: for the mirrored tables the trigger leaves updated_at alone then.
CREATE OR REPLACE FUNCTION pma_touch_updated_at_unless_index_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- search_tsv is generated after BEFORE triggers run, so NEW does not hold it yet: leave it out.
    IF (to_jsonb(NEW) - 'indexed_at' - 'updated_at' - 'search_tsv')
       = (to_jsonb(OLD) - 'indexed_at' - 'updated_at' - 'search_tsv') THEN
        NEW.updated_at := OLD.updated_at;
    ELSE
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['memory_history', 'recall_generations', 'documents']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I_touch_updated_at ON %I', table_name, table_name);
        EXECUTE format(
            'CREATE TRIGGER %I_touch_updated_at BEFORE UPDATE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at()',
            table_name, table_name);
    END LOOP;
    FOREACH table_name IN ARRAY ARRAY['memories', 'doc_chunks', 'events']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I_touch_updated_at ON %I', table_name, table_name);
        EXECUTE format(
            'CREATE TRIGGER %I_touch_updated_at BEFORE UPDATE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION pma_touch_updated_at_unless_index_only()',
            table_name, table_name);
    END LOOP;
END;
$$;
