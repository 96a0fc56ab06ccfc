-- The memory-gateway's full-text indexes update in place instead of through GIN's pending list.
--
-- With fastupdate on (Postgres's default) an insert appends to the index's pending list, and the insert
-- that finds the list over gin_pending_list_limit (4 MB) merges all of it into the index, inside its own
-- statement: during a bulk load one remember in a few hundred took seconds, past the statement timeout
-- that makes a hung Postgres a quick 503 (POSTGRES_COMMAND_TIMEOUT_SECONDS), and every search read the
-- whole unmerged list until a vacuum emptied it. In place, each insert pays its own small share, always.
ALTER INDEX IF EXISTS memories_search_idx SET (fastupdate = off);
ALTER INDEX IF EXISTS events_search_idx SET (fastupdate = off);
ALTER INDEX IF EXISTS doc_chunks_search_idx SET (fastupdate = off);
ALTER INDEX IF EXISTS daily_threads_search_idx SET (fastupdate = off);
ALTER INDEX IF EXISTS graph_nodes_search_idx SET (fastupdate = off);
