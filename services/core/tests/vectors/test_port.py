"""The port's own rules, which hold before any engine is involved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pma_core.vectors import CollectionSpec, VectorFilter


def test_a_filter_cannot_be_built_without_a_tenant() -> None:
    with pytest.raises(ValueError, match="user_id"):
        VectorFilter(user_id="")
    with pytest.raises(TypeError):
        VectorFilter()  # type: ignore[call-arg]


def test_an_empty_kind_list_is_refused_rather_than_matching_nothing() -> None:
    with pytest.raises(ValueError, match="None for any kind"):
        VectorFilter(user_id="a", kinds=[])


def test_a_single_kind_string_is_refused_rather_than_split_into_letters() -> None:
    with pytest.raises(ValueError, match="not the string"):
        VectorFilter(user_id="a", kinds="task")


def test_a_reversed_window_is_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        VectorFilter(user_id="a", created_from=datetime(2025, 2, 1), created_to=datetime(2025, 1, 1))


def test_window_bounds_are_utc_and_naive_means_utc() -> None:
    flt = VectorFilter(
        user_id="a",
        created_from=datetime(2025, 1, 1, 12),
        created_to=datetime(2025, 1, 2, 12, tzinfo=UTC),
    )
    assert flt.created_bounds() == ("2025-01-01T12:00:00+00:00", "2025-01-02T12:00:00+00:00")
    assert VectorFilter(user_id="a").created_bounds() == (None, None)


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "x" * 65, "has space"])
def test_collection_names_are_path_safe(name: str) -> None:
    with pytest.raises(ValueError, match="invalid collection name"):
        CollectionSpec(name=name, size=8)


def test_a_vector_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CollectionSpec(name="events", size=0)
