"""Bad input gets a 422 naming the field and saying why; bodies over the edge's limit a 413."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.contracts.documents import MAX_DOCUMENT_CHARS, MAX_OFFSET
from pma_core.settings import HttpSettings
from pma_core.testing.serve import serve

OK = {"user_id": "u1", "doc_key": "a.md", "text": "Some text."}
SEARCH = {"user_id": "u1", "query": "text"}


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30.0) as client:
        yield client


def _field_named(response: httpx.Response, field: str) -> bool:
    error = response.json()["error"]
    return error["code"] == "validation_error" and any(d["field"].startswith(field) for d in error["details"])


# Each list is checked against one gateway (starting one per case would cost a second each).
BAD_INGESTS: list[tuple[dict[str, Any], str]] = [
    ({"text": ""}, "body.text"),
    ({"text": " \n\t "}, "body.text"),
    ({"text": "nul \x00 byte"}, "body.text"),
    ({"media_type": "text/html"}, "body.media_type"),
    ({"doc_key": ""}, "body.doc_key"),
    ({"doc_key": "k" * 501}, "body.doc_key"),
    ({"user_id": "u 1"}, "body.user_id"),
    ({"title": "t" * 501}, "body.title"),
    ({"metadata": {"k": "nul \x00"}}, "body.metadata"),
    ({"metadata": {str(i): i for i in range(51)}}, "body.metadata"),
    ({"chunk_chars": 199}, "body.chunk_chars"),
    ({"chunk_chars": 8001}, "body.chunk_chars"),
    ({"overlap_chars": -1}, "body.overlap_chars"),
    ({"chunk_chars": 400, "overlap_chars": 201}, "body"),
    ({"colour": "red"}, "body.colour"),
]
BAD_SEARCHES: list[tuple[dict[str, Any], str]] = [
    ({"query": ""}, "body.query"),
    ({"query": "q" * 2001}, "body.query"),
    ({"limit": 101}, "body.limit"),
    ({"limit": 0}, "body.limit"),
    ({"doc_keys": []}, "body.doc_keys"),
    ({"doc_keys": [f"k{i}" for i in range(51)]}, "body.doc_keys"),
    ({"mmr_lambda": 1.5}, "body.mmr_lambda"),
    ({"user_id": ""}, "body.user_id"),
]


async def test_invalid_ingest_is_422_naming_the_field(http: httpx.AsyncClient) -> None:
    for change, field in BAD_INGESTS:
        response = await http.put("/v1/documents", json={**OK, **change})
        assert response.status_code == 422, (change, response.text)
        assert _field_named(response, field), (field, response.json())
    assert (await http.get("/v1/documents", params={"user_id": "u1"})).json() == {"documents": []}


async def test_missing_fields_are_named(http: httpx.AsyncClient) -> None:
    response = await http.put("/v1/documents", json={"user_id": "u1"})
    assert response.status_code == 422
    assert _field_named(response, "body.doc_key")
    assert _field_named(response, "body.text")


async def test_invalid_search_is_422_naming_the_field(http: httpx.AsyncClient) -> None:
    for change, field in BAD_SEARCHES:
        response = await http.post("/v1/search_docs", json={**SEARCH, **change})
        assert response.status_code == 422, (change, response.text)
        assert _field_named(response, field), (field, response.json())


async def test_invalid_query_parameters_are_422(http: httpx.AsyncClient) -> None:
    cases = [
        ("/v1/documents", {}, "query.user_id"),
        ("/v1/documents", {"user_id": "u 1"}, "query.user_id"),
        ("/v1/documents", {"user_id": "u1", "limit": 501}, "query.limit"),
        ("/v1/documents", {"user_id": "u1", "offset": -1}, "query.offset"),
        ("/v1/documents", {"user_id": "u1", "offset": MAX_OFFSET + 1}, "query.offset"),
        ("/v1/documents/not-a-uuid", {"user_id": "u1"}, "path.document_id"),
    ]
    for path, params, field in cases:
        response = await http.get(path, params=params)
        assert response.status_code == 422, (path, params)
        assert _field_named(response, field), response.json()
    response = await http.delete(f"/v1/documents/{uuid4()}")
    assert response.status_code == 422
    assert _field_named(response, "query.user_id")


async def test_an_offset_past_every_document_is_an_empty_page(http: httpx.AsyncClient) -> None:
    # Unbounded, an offset past int64 reached the driver and was a 500; the bound is one Postgres takes.
    assert (await http.put("/v1/documents", json=OK)).status_code == 201
    last = await http.get("/v1/documents", params={"user_id": "u1", "offset": MAX_OFFSET})
    assert last.status_code == 200, last.text
    assert last.json()["documents"] == []
    past = await http.get("/v1/documents", params={"user_id": "u1", "offset": 2**63})
    assert past.status_code == 422
    assert _field_named(past, "query.offset")


async def test_unknown_documents_are_404(http: httpx.AsyncClient) -> None:
    for method in ("GET", "DELETE"):
        response = await http.request(method, f"/v1/documents/{uuid4()}", params={"user_id": "u1"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_text_over_the_document_limit_is_422(gateway_settings: Settings) -> None:
    # A body limit big enough for the document limit: then the text's own limit answers, naming the field.
    roomy = gateway_settings.model_copy(update={"http": HttpSettings(max_body_bytes=4 * MAX_DOCUMENT_CHARS)})
    async with serve(create_app(roomy)) as url, httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        response = await client.put("/v1/documents", json={**OK, "text": "a" * (MAX_DOCUMENT_CHARS + 1)})
    assert response.status_code == 422
    assert _field_named(response, "body.text")
    assert "2000000" in response.json()["error"]["message"]


async def test_a_body_over_the_edge_limit_is_413(http: httpx.AsyncClient, gateway_settings: Settings) -> None:
    limit = gateway_settings.http.max_body_bytes
    response = await http.put("/v1/documents", json={**OK, "text": "a" * limit})
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"max_body_bytes": limit}
