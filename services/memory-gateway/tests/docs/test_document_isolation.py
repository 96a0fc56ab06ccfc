"""One user can never search, get, list, replace or delete another user's documents."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.documents import DocumentIngest

SECRET = "# Vault\n## Access\nThe vault combination is kept in the blue notebook behind the clock."


async def _expect_404(call: Awaitable[object]) -> None:
    with pytest.raises(RemoteServiceError) as caught:
        await call
    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"


async def test_bob_cannot_reach_alices_document_by_any_endpoint(memory: MemoryGatewayClient) -> None:
    alice = (await memory.ingest_document(DocumentIngest(user_id="alice", doc_key="vault.md", text=SECRET))).document
    await memory.ingest_document(DocumentIngest(user_id="bob", doc_key="garden.md", text="Water the tomatoes daily."))

    await _expect_404(memory.get_document("bob", alice.id))
    await _expect_404(memory.delete_document("bob", alice.id))
    assert [d.doc_key for d in await memory.list_documents("bob")] == ["garden.md"]
    assert await memory.list_documents("bob", doc_key="vault.md") == []

    for query in ["vault combination blue notebook", "clock"]:
        found = await memory.search_docs("bob", query, limit=100)
        assert found.hits, "Bob's own document is a candidate for anything"
        assert {hit.doc_key for hit in found.hits} == {"garden.md"}
    assert (await memory.search_docs("bob", "vault combination", doc_keys=["vault.md"])).hits == []

    # Alice's document is untouched, and still hers to find.
    assert (await memory.get_document("alice", alice.id)).chunk_count == 1
    hit = (await memory.search_docs("alice", "vault combination")).hits[0]
    assert (hit.document_id, hit.heading_path) == (alice.id, ["Vault", "Access"])


async def test_the_same_doc_key_is_a_different_document_per_user(memory: MemoryGatewayClient) -> None:
    alice = await memory.ingest_document(DocumentIngest(user_id="alice", doc_key="notes.md", text=SECRET))
    bob = await memory.ingest_document(DocumentIngest(user_id="bob", doc_key="notes.md", text="Bob's own notes."))
    assert bob.outcome == "created"  # not a replacement of Alice's
    assert bob.document.id != alice.document.id

    # Bob re-ingesting or deleting his notes.md never touches Alice's.
    await memory.ingest_document(DocumentIngest(user_id="bob", doc_key="notes.md", text="Bob rewrote his notes."))
    await memory.delete_document("bob", bob.document.id)
    still = await memory.get_document("alice", alice.document.id)
    assert still == alice.document
    assert (await memory.search_docs("alice", "vault combination")).hits[0].document_id == alice.document.id
    assert (await memory.search_docs("bob", "notes")).hits == []
