"""The tables mirrored into Qdrant, and how each row becomes a point (text to embed, payload to keep).

Each table's `select_sql` reads its rows as points; `Indexer.load` reads either the rows of given ids or
the pending ones (`indexed_at IS NULL`), oldest first and at most 1,000 at a time (the repair loop comes
back for the rest). Each row carries its `updated_at` as the version the indexer marks against (see
`Indexer.index`).
"""

from __future__ import annotations

from memory_gateway.adapters.indexer import IndexedTable
from pma_core.vectors import Collection

# Qdrant's datetime index reads RFC 3339; Postgres's own text form ("2026-01-01 10:00:00+00") it does not.
_ISO_UTC = """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""

MEMORIES = IndexedTable(
    table="memories",
    collection=Collection.AGENT_MEMORIES,
    select_sql=f"""
        SELECT id, user_id, updated_at, text,
               jsonb_build_object('kind', kind, 'source', source,
                                  'created_at', {_ISO_UTC.format(col="created_at")}) AS payload
        FROM memories""",
)

DOC_CHUNKS = IndexedTable(
    table="doc_chunks",
    collection=Collection.DOC_CHUNKS,
    # The heading path goes into the embedded text: "Setup > Install: run make dev" finds "setup".
    select_sql=f"""
        SELECT id, user_id, updated_at,
               CASE WHEN cardinality(heading_path) > 0
                    THEN array_to_string(heading_path, ' > ') || E'\\n' || text ELSE text END AS text,
               jsonb_build_object('kind', 'doc_chunk', 'document_id', document_id::text,
                                  'created_at', {_ISO_UTC.format(col="created_at")}) AS payload
        FROM doc_chunks""",
)

EVENTS = IndexedTable(
    table="events",
    collection=Collection.EVENTS,
    select_sql=f"""
        SELECT id, user_id, updated_at,
               concat_ws(E'\\n', NULLIF(event_type, ''), NULLIF(subject, ''), NULLIF(summary, '')) AS text,
               jsonb_build_object('kind', event_type, 'created_at', {_ISO_UTC.format(col="occurred_at")})
                   AS payload
        FROM events""",
)

DAILY_THREADS = IndexedTable(
    table="daily_threads",
    collection=Collection.DAILY_THREADS,
    # The thread's text as is: similar_days embeds a thread's text the same way to find days like it.
    # `created_at` is the first day the thread covers, the moment the port's datetime index filters on.
    select_sql="""
        SELECT id, user_id, updated_at, text,
               jsonb_build_object('kind', kind, 'created_at', to_char(period_start, 'YYYY-MM-DD"T00:00:00Z"'))
                   AS payload
        FROM daily_threads""",
)

INDEXED_TABLES = (MEMORIES, DOC_CHUNKS, EVENTS, DAILY_THREADS)
