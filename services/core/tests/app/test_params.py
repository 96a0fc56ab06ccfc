"""The one idempotency-key rule: header or body, both must agree; a batch's header keys its items."""

from __future__ import annotations

import pytest

from pma_core.app.params import with_batch_keys, with_header_key
from pma_core.contracts.events import EventItem
from pma_core.errors import ValidationFailedError


def _item(key: str | None = None) -> EventItem:
    return EventItem(event_type="task.done", idempotency_key=key)


def test_the_header_keys_a_body_without_a_key() -> None:
    assert with_header_key(_item(), "h-1").idempotency_key == "h-1"


def test_a_body_key_stands_without_a_header_or_with_an_equal_one() -> None:
    assert with_header_key(_item("b-1"), None).idempotency_key == "b-1"
    assert with_header_key(_item("b-1"), "b-1").idempotency_key == "b-1"
    assert with_header_key(_item(), None).idempotency_key is None


def test_two_different_keys_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailedError) as raised:
        with_header_key(_item("b-1"), "h-1", field="body.events.0.idempotency_key")
    assert raised.value.details == [
        {
            "field": "body.events.0.idempotency_key",
            "message": "differs from the Idempotency-Key header",
            "type": "key_mismatch",
        }
    ]


def test_a_batch_header_keys_each_keyless_item_by_its_index() -> None:
    items = [_item(), _item("own"), _item()]
    assert [i.idempotency_key for i in with_batch_keys(items, "batch")] == ["batch:0", "own", "batch:2"]
    assert [i.idempotency_key for i in with_batch_keys(items, None)] == [None, "own", None]
