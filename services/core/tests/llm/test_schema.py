"""Strict JSON schemas: what OpenAI's `strict: true` accepts, derived from pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from pma_core.llm.schema import schema_name, strict_json_schema


class Slot(BaseModel):
    start: str
    end: str


class Day(BaseModel):
    date: str
    best: Slot = Field(description="the best slot")
    slots: list[Slot] = []
    note: str | None = None


def objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema in the tree."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found += objects(value)
    elif isinstance(node, list):
        for value in node:
            found += objects(value)
    return found


def test_every_object_is_closed_and_fully_required() -> None:
    schema = strict_json_schema(Day)
    for node in objects(schema):
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert schema["required"] == ["date", "best", "slots", "note"]


def test_ref_with_siblings_is_inlined_and_null_defaults_dropped() -> None:
    schema = strict_json_schema(Day)
    best = schema["properties"]["best"]
    assert "$ref" not in best
    assert best["description"] == "the best slot"
    assert best["properties"]["start"] == {"title": "Start", "type": "string"}
    assert "default" not in schema["properties"]["note"]
    assert schema["properties"]["slots"]["items"] == {"$ref": "#/$defs/Slot"}


def test_model_schema_is_not_mutated() -> None:
    before = Day.model_json_schema()
    strict_json_schema(Day)
    assert Day.model_json_schema() == before


def test_schema_name_is_made_acceptable() -> None:
    assert schema_name("planner.plan day/v2") == "planner_plan_day_v2"
    assert schema_name("") == "output"
    assert len(schema_name("x" * 100)) == 64
