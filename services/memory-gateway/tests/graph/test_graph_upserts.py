"""Graph writes over real HTTP and Postgres: upserts on natural keys, edges by reference, batches, deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.graph import EdgeItem, EdgeUpsert, GraphUpsert, NeighborsQuery, NodeItem, NodeRef, NodeUpsert

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        yield client


def _ref(node_type: str, key: str) -> NodeRef:
    return NodeRef(type=node_type, key=key)


async def test_upserting_twice_keeps_one_node_and_updates_it(memory: MemoryGatewayClient) -> None:
    first = await memory.upsert_node(
        NodeUpsert(user_id="alice", node_type="project", key="newsletter", name="Newsletter", properties={"v": 1})
    )
    second = await memory.upsert_node(
        NodeUpsert(user_id="alice", node_type="project", key="newsletter", name="The Newsletter", properties={"w": 2})
    )
    assert second.id == first.id
    assert (second.name, second.properties) == ("The Newsletter", {"w": 2})  # replaced, not merged
    assert second.valid_from == first.valid_from  # an omitted valid_from is kept
    assert second.updated_at >= first.updated_at
    assert await memory.get_node("alice", first.id) == second


async def test_put_answers_201_then_200(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "node_type": "tool", "key": "n8n"}
    assert (await http.put("/v1/graph/nodes", json=body)).status_code == 201
    assert (await http.put("/v1/graph/nodes", json=body)).status_code == 200


async def test_edges_name_their_ends_by_id_or_by_type_and_key(memory: MemoryGatewayClient) -> None:
    alice = await memory.upsert_node(NodeUpsert(user_id="alice", node_type="person", key="alice@example.com"))
    project = await memory.upsert_node(NodeUpsert(user_id="alice", node_type="project", key="newsletter"))
    by_ref = await memory.upsert_edge(
        EdgeUpsert(
            user_id="alice",
            source=NodeRef(id=alice.id),
            target=_ref("project", "newsletter"),
            relation="works_on",
            properties={"since": "2026"},
            weight=0.5,
        )
    )
    assert (by_ref.source_id, by_ref.target_id, by_ref.relation, by_ref.weight) == (
        alice.id,
        project.id,
        "works_on",
        0.5,
    )
    again = await memory.upsert_edge(
        EdgeUpsert(
            user_id="alice",
            source=_ref("person", "alice@example.com"),
            target=NodeRef(id=project.id),
            relation="works_on",
            weight=2.0,
        )
    )
    assert again.id == by_ref.id  # same (source, relation, target): updated
    assert (again.weight, again.properties) == (2.0, {})


async def test_an_edge_to_an_unknown_node_is_422_naming_the_end(memory: MemoryGatewayClient) -> None:
    await memory.upsert_node(NodeUpsert(user_id="alice", node_type="person", key="alice"))
    with pytest.raises(RemoteServiceError) as caught:
        await memory.upsert_edge(
            EdgeUpsert(user_id="alice", source=_ref("person", "alice"), target=_ref("project", "nope"), relation="r")
        )
    assert caught.value.status_code == 422
    assert caught.value.details[0]["field"] == "body.target"
    assert "(type 'project', key 'nope')" in caught.value.message


async def test_a_batch_writes_nodes_then_edges_that_name_them(memory: MemoryGatewayClient) -> None:
    result = await memory.upsert_graph(
        GraphUpsert(
            user_id="alice",
            nodes=[NodeItem(node_type="person", key="alice"), NodeItem(node_type="project", key="newsletter")],
            edges=[EdgeItem(source=_ref("person", "alice"), target=_ref("project", "newsletter"), relation="owns")],
        )
    )
    assert [n.key for n in result.nodes] == ["alice", "newsletter"]
    assert (result.edges[0].source_id, result.edges[0].target_id) == (result.nodes[0].id, result.nodes[1].id)


async def test_a_batch_with_one_bad_edge_stores_nothing(memory: MemoryGatewayClient) -> None:
    batch = GraphUpsert(
        user_id="alice",
        nodes=[NodeItem(node_type="person", key="alice", name="Alice")],
        edges=[
            EdgeItem(source=_ref("person", "alice"), target=_ref("person", "alice"), relation="self"),
            EdgeItem(source=_ref("person", "alice"), target=_ref("project", "missing"), relation="owns"),
        ],
    )
    with pytest.raises(RemoteServiceError) as caught:
        await memory.upsert_graph(batch)
    assert caught.value.status_code == 422
    assert caught.value.details[0]["field"] == "body.edges.1.target"
    with pytest.raises(RemoteServiceError) as missing:
        await memory.graph_neighbors(NeighborsQuery(user_id="alice", node=_ref("person", "alice")))
    assert missing.value.status_code == 404  # the node written first was rolled back


async def test_validity_that_ends_before_it_starts_is_422(memory: MemoryGatewayClient, http: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {
        "user_id": "alice",
        "node_type": "tool",
        "key": "old",
        "valid_from": (NOW - timedelta(days=1)).isoformat(),
        "valid_to": (NOW - timedelta(days=2)).isoformat(),
    }
    assert (await http.put("/v1/graph/nodes", json=body)).status_code == 422
    # Only valid_to given for a new node: valid_from is now, so a past valid_to is refused by the database.
    del body["valid_from"]
    response = await http.put("/v1/graph/nodes", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["type"] == "validity_order"


async def test_deleting_a_node_deletes_its_edges(memory: MemoryGatewayClient) -> None:
    result = await memory.upsert_graph(
        GraphUpsert(
            user_id="alice",
            nodes=[NodeItem(node_type="t", key="a"), NodeItem(node_type="t", key="b")],
            edges=[EdgeItem(source=_ref("t", "a"), target=_ref("t", "b"), relation="r")],
        )
    )
    a, b = result.nodes
    await memory.delete_node("alice", a.id)
    with pytest.raises(RemoteServiceError) as gone:
        await memory.get_node("alice", a.id)
    assert gone.value.status_code == 404
    with pytest.raises(RemoteServiceError) as edge_gone:
        await memory.delete_edge("alice", result.edges[0].id)
    assert edge_gone.value.status_code == 404
    assert (await memory.get_node("alice", b.id)).id == b.id


async def test_deleting_an_edge_keeps_its_nodes(memory: MemoryGatewayClient) -> None:
    result = await memory.upsert_graph(
        GraphUpsert(
            user_id="alice",
            nodes=[NodeItem(node_type="t", key="a"), NodeItem(node_type="t", key="b")],
            edges=[EdgeItem(source=_ref("t", "a"), target=_ref("t", "b"), relation="r")],
        )
    )
    await memory.delete_edge("alice", result.edges[0].id)
    for node in result.nodes:
        assert (await memory.get_node("alice", node.id)).id == node.id
    with pytest.raises(RemoteServiceError) as again:
        await memory.delete_edge("alice", result.edges[0].id)
    assert again.value.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/graph/nodes", {"user_id": "alice", "node_type": "", "key": "k"}, "body.node_type"),
        ("/v1/graph/nodes", {"user_id": "alice", "node_type": "a b", "key": "k"}, "body.node_type"),
        ("/v1/graph/nodes", {"user_id": "alice", "node_type": "t", "key": "  "}, "body.key"),
        ("/v1/graph/nodes", {"user_id": "alice", "node_type": "t", "key": "k", "properties": []}, "body.properties"),
        (
            "/v1/graph/edges",
            {"user_id": "alice", "source": {"id": None}, "target": {"type": "t", "key": "k"}, "relation": "r"},
            "body.source",
        ),
        (
            "/v1/graph/edges",
            {"user_id": "alice", "source": {"type": "t"}, "target": {"type": "t", "key": "k"}, "relation": "r"},
            "body.source",
        ),
        (
            "/v1/graph/edges",
            {
                "user_id": "alice",
                "source": {"id": "00000000-0000-4000-8000-000000000000", "type": "t", "key": "k"},
                "target": {"type": "t", "key": "k"},
                "relation": "r",
            },
            "body.source",
        ),
        (
            "/v1/graph/edges",
            {
                "user_id": "alice",
                "source": {"type": "t", "key": "k"},
                "target": {"type": "t", "key": "k"},
                "relation": "has space",
            },
            "body.relation",
        ),
        ("/v1/graph", {"user_id": "alice"}, "body"),
        ("/v1/graph", {"user_id": "alice", "nodes": [{"node_type": "t", "key": "k"}] * 101}, "body.nodes"),
    ],
)
async def test_invalid_writes_are_422_naming_the_field(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    method = http.post if path == "/v1/graph" else http.put
    response = await method(path, json=body)
    assert response.status_code == 422, response.text
    assert any(d["field"].startswith(field) for d in response.json()["error"]["details"])
