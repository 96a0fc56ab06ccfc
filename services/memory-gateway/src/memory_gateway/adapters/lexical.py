"""Full-text candidates from Postgres: the lexical half of hybrid retrieval.

Queries are matched with OR semantics over the query's stemmed words (any shared word is a candidate;
ranking sorts them), because recall must not drop a memory for missing one word of the question.
"""

from __future__ import annotations

# The query's words, stemmed by the 'english' configuration, joined with OR. The 'simple' configuration
# reads the already-stemmed lexemes back without stemming them twice. An empty query yields NULL.
OR_QUERY_SQL = "to_tsquery('simple', NULLIF(array_to_string(tsvector_to_array(to_tsvector('english', $2)), ' | '), ''))"
