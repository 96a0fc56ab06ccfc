"""Rows to response models, shared by the repositories."""

from __future__ import annotations

from typing import TypeVar

import asyncpg
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def read_model(model: type[M], row: asyncpg.Record | None) -> M:
    """The row as `model`; columns the model does not name (e.g. `inserted`, `embedding`) are ignored.

    Only called on a row the statement must return (a write's RETURNING, a read under a row lock), so a
    missing one is a bug, not a 404.
    """
    if row is None:
        raise RuntimeError("expected a row, got none")
    return model.model_validate(dict(row))
