"""Request parameters every service's routers share, and the one rule for idempotency keys.

The rule, for every POST whose body has an `idempotency_key`: the `Idempotency-Key` header and the body's
key may each be given; given both, they must be equal (else 422 naming the field, `key_mismatch`); given
one, it is the key. A batch takes the header as the batch's key: an item without its own key gets
`<header>:<index>`, so a retried batch replays instead of storing its items twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import Header, Query
from pydantic import BaseModel

from pma_core.contracts.common import IdempotencyKey, UserId
from pma_core.errors import ValidationFailedError

UserQuery = Annotated[UserId, Query(description="The owner: every call is scoped to one user.")]
IdempotencyKeyHeader = Annotated[
    IdempotencyKey | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retried POST safe. Equal to the body's idempotency_key when both are given (else"
        " 422); for a batch, an item without its own key gets `<header>:<index>`.",
    ),
]


# A request body (a pydantic model) with an `idempotency_key` field.
M = TypeVar("M", bound=BaseModel)


def _key(body: BaseModel) -> str | None:
    key: str | None = getattr(body, "idempotency_key", None)
    return key


def with_header_key(body: M, header_key: str | None, *, field: str = "body.idempotency_key") -> M:
    """`body` with the header as its idempotency key when it has none; a header that differs is a 422."""
    if header_key is None or _key(body) == header_key:
        return body
    if _key(body) is None:
        return body.model_copy(update={"idempotency_key": header_key})
    raise ValidationFailedError(
        f"invalid request: {field}: the Idempotency-Key header and the body's idempotency_key differ",
        details=[{"field": field, "message": "differs from the Idempotency-Key header", "type": "key_mismatch"}],
    )


def with_batch_keys(items: Sequence[M], header_key: str | None) -> list[M]:
    """The batch's items, each without a key of its own keyed `<header>:<index>` when a header is given."""
    if header_key is None:
        return list(items)
    return [
        item if _key(item) else item.model_copy(update={"idempotency_key": f"{header_key}:{index}"})
        for index, item in enumerate(items)
    ]


def check_window(
    start: datetime | None, end: datetime | None, *, names: tuple[str, str], max_days: int | None = None
) -> None:
    """A query's window [start, end): 422 naming the parameter when it is empty or reversed (start >= end),
    or longer than `max_days`. A bound left out is open and passes."""
    if start is None or end is None:
        return
    field = f"query.{names[0]}"
    if start >= end:
        message = f"{names[0]} must be before {names[1]} (the window is [{names[0]}, {names[1]}))"
    elif max_days is not None and end - start > timedelta(days=max_days):
        message = f"the window from {names[0]} to {names[1]} is longer than {max_days} days"
    else:
        return
    raise ValidationFailedError(
        f"invalid request: {field}: {message}",
        details=[{"field": field, "message": message, "type": "invalid_window"}],
    )
