"""The fake Coda's updateRow (`PUT .../rows/{rowIdOrName}`), which the n8n workflows write back with."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from pma_core.testing.fake_coda import DEFAULT_TOKEN, FakeCoda

DOC, TABLE = "doc-tasks", "grid-tasks"
COLUMNS = {"c-task": "Task", "c-status": "Status", "c-note": "Note"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeCoda]:
    with FakeCoda(mutation_delay=0.2) as fake:
        yield fake


@pytest.fixture
def coda(server: FakeCoda) -> FakeCoda:
    server.reset()
    server.mutation_delay = 0.2
    server.add_table(DOC, TABLE, columns=COLUMNS, name="Tasks")
    return server


@pytest.fixture
def http(coda: FakeCoda) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    with httpx.Client(base_url=coda.url, headers=headers, timeout=5.0) as client:
        yield client


def _cells(**values: str) -> dict[str, object]:
    return {"row": {"cells": [{"column": column, "value": value} for column, value in values.items()]}}


def _values(coda: FakeCoda, row_id: str) -> dict[str, object]:
    return next(row["values"] for row in coda.rows(DOC, TABLE) if row["id"] == row_id)


def test_an_update_is_queued_then_changes_only_the_given_cells(coda: FakeCoda, http: httpx.Client) -> None:
    row_id = coda.add_row(DOC, TABLE, {"Task": "Renew the domain", "Status": "Ready", "Note": "keep"})
    answer = http.put(f"/docs/{DOC}/tables/{TABLE}/rows/{row_id}", json=_cells(Status="Scheduled"))
    assert answer.status_code == 202
    body = answer.json()
    assert body["id"] == row_id
    assert body["requestId"].startswith("mutate:")
    assert _values(coda, row_id)["c-status"] == "Ready"  # queued: not visible yet
    assert http.get(f"/mutationStatus/{body['requestId']}").json() == {"completed": False}
    time.sleep(0.3)
    assert _values(coda, row_id) == {"c-task": "Renew the domain", "c-status": "Scheduled", "c-note": "keep"}
    assert http.get(f"/mutationStatus/{body['requestId']}").json() == {"completed": True}
    assert [request.kind for request in coda.recorded] == ["write", "status", "status"]


def test_columns_by_id_and_the_table_by_name(coda: FakeCoda, http: httpx.Client) -> None:
    coda.mutation_delay = 0
    row_id = coda.add_row(DOC, TABLE, {"c-task": "Write the post"})
    answer = http.put(f"/docs/{DOC}/tables/Tasks/rows/{row_id}", json=_cells(**{"c-note": "by id"}))
    assert answer.status_code == 202
    assert _values(coda, row_id)["c-note"] == "by id"
    assert coda.key_counts(DOC, TABLE, "Task") == {"Write the post": 1}  # updated, never a new row


def test_an_unknown_row_column_or_body_is_refused(coda: FakeCoda, http: httpx.Client) -> None:
    row_id = coda.add_row(DOC, TABLE, {"Task": "Call the bank"})
    missing = http.put(f"/docs/{DOC}/tables/{TABLE}/rows/i-missing", json=_cells(Status="Done"))
    assert missing.status_code == 404
    assert missing.json()["statusCode"] == 404
    assert http.put(f"/docs/{DOC}/tables/{TABLE}/rows/{row_id}", json=_cells(Colour="red")).status_code == 400
    assert http.put(f"/docs/{DOC}/tables/{TABLE}/rows/{row_id}", json={"cells": []}).status_code == 400
    assert http.put(f"/docs/nope/tables/{TABLE}/rows/{row_id}", json=_cells(Status="Done")).status_code == 404
    assert coda.pending_mutations() == 0


def test_write_faults_apply_to_updates(coda: FakeCoda, http: httpx.Client) -> None:
    coda.mutation_delay = 0
    row_id = coda.add_row(DOC, TABLE, {"Task": "Pay the invoice", "Status": "Ready"})
    coda.inject("rate_limit_429", kind="write")
    limited = http.put(f"/docs/{DOC}/tables/{TABLE}/rows/{row_id}", json=_cells(Status="Done"))
    assert limited.status_code == 429
    assert "retry-after" not in limited.headers
    assert _values(coda, row_id)["c-status"] == "Ready"
    assert http.put(f"/docs/{DOC}/tables/{TABLE}/rows/{row_id}", json=_cells(Status="Done")).status_code == 202
    assert _values(coda, row_id)["c-status"] == "Done"
    assert len(coda.requests("write")) == 2


def test_an_update_without_a_token_is_401(coda: FakeCoda) -> None:
    row_id = coda.add_row(DOC, TABLE, {"Task": "Book the venue"})
    answer = httpx.put(f"{coda.url}/docs/{DOC}/tables/{TABLE}/rows/{row_id}", json=_cells(Status="Done"))
    assert answer.status_code == 401
