"""Deleting a user: every service deletes what it owns (DELETE /v1/users/{user_id}, an admin operation)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UserDeletedRead(BaseModel):
    user_id: str
    deleted: dict[str, int] = Field(description="Rows deleted per table (0 for a table that held nothing).")
