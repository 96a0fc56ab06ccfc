"""Full-text candidates from Postgres: the lexical half of hybrid retrieval.

Queries are matched with OR semantics over the query's stemmed words (any shared word is a candidate;
ranking sorts them), because recall must not drop a memory for missing one word of the question.
"""

from __future__ import annotations

# The query's words, stemmed by the 'english' configuration, joined with OR. The 'simple' configuration
# reads the already-stemmed lexemes back without stemming them twice. An empty query yields NULL.
OR_QUERY_SQL = "to_tsquery('simple', NULLIF(array_to_string(tsvector_to_array(to_tsvector('english', $2)), ' | '), ''))"


def idf_weighted_sql(*, table: str, alias: str, generations: str, where: str, limit: int, columns: str = "") -> str:
    """Candidates of user $1 for query text $2, scored by the IDF of the query words they contain.

    ts_rank weighs every matched word alike, so among thousands of rows sharing a common word ("work")
    the one row holding the rare word of the question ("illustrations") ties with the rest and can fall
    out of the candidates. Here a match on word t scores BM25's idf, ln(1 + (N - df + 0.5) / (df + 0.5)),
    with N the user's rows and df those holding t: the statistics of the user's own store, as of this
    query. Term frequency and length are left out: a memory is a sentence or two, a word rarely repeats in
    it, and length normalisation would only penalise a memory for saying more (BM25 with b = 0, tf = 1).

    One index scan for all the query's words gives the user's rows holding any of them; each word's df is
    counted on those rows (one scan per word would read the full-text index's pending list, which only a
    vacuum empties, once per word). `where` (conditions on `alias`, parameters from $3) only decides which
    rows may be returned: df counts the user's whole store. Each row also carries the query's lexemes and
    their idf (the same on every row), so the caller can score candidates only the vector search found
    with the same weights; words no memory of the user holds are left out (no candidate holds them).
    Every step is materialised: computed once, whatever the planner believes of a freshly loaded table.

    N costs a count of the user's rows (milliseconds at 10k, more for a larger store), so the caller may
    pass the N it saw at the user's write counter (`generations`, bumped by every write in the same
    transaction): $3 the counter then, $4 its N. N is counted again only if the counter moved; each row
    carries the counter and N of this query for the caller to keep.
    `columns` (more columns of `alias`, not its id) are read for the returned rows, saving the caller a
    second query.
    """
    return f"""
        WITH terms AS MATERIALIZED (
            SELECT t.lexeme, to_tsquery('simple', quote_literal(t.lexeme)) AS query
            FROM unnest(tsvector_to_array(to_tsvector('english', $2))) AS t(lexeme)
        ), matches AS MATERIALIZED (
            -- The query in FROM is computed once; in WHERE, a plan that filters rows would rebuild it per row.
            SELECT {alias}.id, {alias}.created_at, {alias}.search_tsv, (TRUE {where}) AS in_scope
            FROM {table} {alias}, {OR_QUERY_SQL} AS q WHERE {alias}.user_id = $1 AND {alias}.search_tsv @@ q
        ), hits AS MATERIALIZED (
            SELECT t.lexeme, x.id, x.created_at, x.in_scope FROM matches x JOIN terms t ON x.search_tsv @@ t.query
        ), total AS MATERIALIZED (
            SELECT g.generation,
                   CASE WHEN g.generation = $3::bigint THEN $4::bigint
                        ELSE (SELECT count(*) FROM {table} WHERE user_id = $1) END AS n
            FROM (SELECT (SELECT generation FROM {generations} WHERE user_id = $1) AS generation) AS g
        ), weights AS MATERIALIZED (
            SELECT df.lexeme, ln(1 + (total.n - df.n + 0.5)::float8 / (df.n + 0.5)::float8) AS idf
            FROM (SELECT lexeme, count(*) AS n FROM hits GROUP BY lexeme) AS df CROSS JOIN total
        ), best AS MATERIALIZED (
            SELECT h.id, h.created_at, sum(w.idf) AS score
            FROM hits h JOIN weights w USING (lexeme)
            WHERE h.in_scope
            GROUP BY h.id, h.created_at
            ORDER BY score DESC, h.created_at DESC LIMIT {int(limit)}
        )
        SELECT {alias}.id, best.score, (SELECT array_agg(lexeme) FROM weights) AS lexemes,
               (SELECT array_agg(idf) FROM weights) AS idfs, (SELECT generation FROM total) AS generation,
               (SELECT n FROM total) AS total {", " + columns if columns else ""}
        FROM best JOIN {table} {alias} ON {alias}.user_id = $1 AND {alias}.id = best.id
        ORDER BY best.score DESC, best.created_at DESC"""
