"""ScoreParts: `relevance` is the fused score; `rrf` carries the same value for one more release."""

from __future__ import annotations

from pma_core.contracts.memory import ScoreParts

PARTS = {
    "dense_rank": 1,
    "dense_similarity": 0.9,
    "lexical_rank": None,
    "lexical_score": 0.0,
    "recency": 1.0,
    "importance": 1.0,
    "final": 0.42,
}


def test_the_deprecated_name_carries_the_relevance() -> None:
    parts = ScoreParts(**PARTS, relevance=0.42)
    assert parts.model_dump(mode="json")["rrf"] == parts.model_dump(mode="json")["relevance"] == 0.42


def test_a_payload_of_an_older_server_with_only_rrf_reads_as_relevance() -> None:
    assert ScoreParts.model_validate({**PARTS, "rrf": 0.3}).relevance == 0.3
    assert ScoreParts.model_validate({**PARTS, "relevance": 0.3, "rrf": 0.3}).relevance == 0.3


def test_the_openapi_marks_rrf_deprecated() -> None:
    schema = ScoreParts.model_json_schema(mode="serialization")["properties"]
    assert schema["rrf"]["deprecated"] is True
    assert "deprecated" not in schema["relevance"]
