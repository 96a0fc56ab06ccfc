"""graph_neighbors over real HTTP and Postgres's recursive CTE, on a small graph with a cycle.

alice -works_on-> newsletter -uses-> n8n -notifies-> alice      (a cycle)
n8n -depends_on-> smtp -pages-> carol
bob -works_on-> newsletter -documented_in-> runbook
newsletter -used-> legacy                                        (legacy expired yesterday)
alice -worked_on-> old                                           (the edge expired yesterday)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.graph import EdgeItem, GraphUpsert, NeighborsQuery, NeighborsRead, NodeItem, NodeRef

NOW = datetime.now(UTC)
PAST = {"valid_from": NOW - timedelta(days=10), "valid_to": NOW - timedelta(days=1)}
NODES = {
    "alice": "person",
    "bob": "person",
    "carol": "person",
    "newsletter": "project",
    "old": "project",
    "n8n": "tool",
    "smtp": "tool",
    "legacy": "tool",
    "runbook": "doc",
}
EDGES = [
    ("alice", "works_on", "newsletter"),
    ("newsletter", "uses", "n8n"),
    ("n8n", "notifies", "alice"),
    ("n8n", "depends_on", "smtp"),
    ("smtp", "pages", "carol"),
    ("bob", "works_on", "newsletter"),
    ("newsletter", "documented_in", "runbook"),
    ("newsletter", "used", "legacy"),
    ("alice", "worked_on", "old"),
]


def _ref(key: str) -> NodeRef:
    return NodeRef(type=NODES[key], key=key)


@pytest.fixture
async def graph(memory: MemoryGatewayClient) -> dict[str, Any]:
    nodes = [NodeItem(node_type=t, key=k, name=k.title(), **(PAST if k == "legacy" else {})) for k, t in NODES.items()]
    edges = [
        EdgeItem(source=_ref(s), target=_ref(t), relation=r, **(PAST if r == "worked_on" else {})) for s, r, t in EDGES
    ]
    result = await memory.upsert_graph(GraphUpsert(user_id="alice", nodes=nodes, edges=edges))
    return {
        "nodes": {n.key: n.id for n in result.nodes},
        "edges": {(e.source_id, e.relation): e.id for e in result.edges},
    }


async def _around(memory: MemoryGatewayClient, origin: str = "alice", **options: Any) -> NeighborsRead:
    return await memory.graph_neighbors(NeighborsQuery(user_id="alice", node=_ref(origin), **options))


def _depths(found: NeighborsRead) -> dict[str, int]:
    keys = [n.node.key for n in found.nodes]
    assert len(keys) == len(set(keys)), f"a node came back twice: {keys}"
    return {n.node.key: n.depth for n in found.nodes}


def _path(found: NeighborsRead, key: str) -> list[tuple[str, str]]:
    (reached,) = [n for n in found.nodes if n.node.key == key]
    assert len(reached.path) == reached.depth
    assert reached.path[-1].node_id == reached.node.id
    return [(step.relation, step.direction) for step in reached.path]


async def test_depth_one_two_three_in_both_directions(memory: MemoryGatewayClient, graph: dict[str, Any]) -> None:
    one = await _around(memory, depth=1)
    assert one.origin.key == "alice"
    assert _depths(one) == {"newsletter": 1, "n8n": 1}  # n8n through the cycle's closing edge, reversed

    two = await _around(memory, depth=2)
    assert _depths(two) == {"newsletter": 1, "n8n": 1, "runbook": 2, "bob": 2, "smtp": 2}
    assert _path(two, "bob") == [("works_on", "out"), ("works_on", "in")]

    three = await _around(memory, depth=3)
    assert _depths(three) == {"newsletter": 1, "n8n": 1, "runbook": 2, "bob": 2, "smtp": 2, "carol": 3}
    assert _path(three, "carol") == [("notifies", "in"), ("depends_on", "out"), ("pages", "out")]
    assert [n.depth for n in three.nodes] == sorted(n.depth for n in three.nodes)  # nearest first
    assert "alice" not in _depths(three)  # the cycle never leads back to the origin
    assert three.truncated is False


async def test_direction_out_follows_edges_forwards_only(memory: MemoryGatewayClient, graph: dict[str, Any]) -> None:
    found = await _around(memory, depth=3, direction="out")
    assert _depths(found) == {"newsletter": 1, "n8n": 2, "runbook": 2, "smtp": 3}  # carol would be 4 hops
    assert _path(found, "smtp") == [("works_on", "out"), ("uses", "out"), ("depends_on", "out")]
    ids = graph["nodes"]
    expected_edges = {
        graph["edges"][(ids[s], r)]
        for s, r in [
            ("alice", "works_on"),
            ("newsletter", "uses"),
            ("newsletter", "documented_in"),
            ("n8n", "depends_on"),
        ]
    }
    assert {e.id for e in found.edges} == expected_edges  # the edges on the paths, each once
    assert [s.edge_id for s in found.nodes[-1].path] == [
        graph["edges"][(ids["alice"], "works_on")],
        graph["edges"][(ids["newsletter"], "uses")],
        graph["edges"][(ids["n8n"], "depends_on")],
    ]


async def test_direction_in_follows_edges_backwards_only(memory: MemoryGatewayClient, graph: dict[str, Any]) -> None:
    found = await _around(memory, depth=3, direction="in")
    assert _depths(found) == {"n8n": 1, "newsletter": 2, "bob": 3}
    assert _path(found, "bob") == [("notifies", "in"), ("uses", "in"), ("works_on", "in")]


async def test_relation_and_node_type_filters(memory: MemoryGatewayClient, graph: dict[str, Any]) -> None:
    by_relation = await _around(memory, depth=3, relations=["works_on", "uses"])
    assert _depths(by_relation) == {"newsletter": 1, "n8n": 2, "bob": 2}

    tools = await _around(memory, depth=3, node_types=["tool"])
    assert _depths(tools) == {"n8n": 1, "smtp": 2}  # found through nodes of other types
    assert _path(tools, "smtp") == [("notifies", "in"), ("depends_on", "out")]


async def test_expired_nodes_and_edges_only_when_asked(memory: MemoryGatewayClient, graph: dict[str, Any]) -> None:
    current = _depths(await _around(memory, depth=2))
    assert "legacy" not in current  # expired node
    assert "old" not in current  # reached only by an expired edge
    everything = _depths(await _around(memory, depth=2, include_expired=True))
    assert (everything["legacy"], everything["old"]) == (2, 1)


async def test_origin_by_id_limit_and_truncation(memory: MemoryGatewayClient, graph: dict[str, Any]) -> None:
    by_id = await memory.graph_neighbors(
        NeighborsQuery(user_id="alice", node=NodeRef(id=graph["nodes"]["alice"]), depth=3, limit=2)
    )
    assert by_id.origin.id == graph["nodes"]["alice"]
    assert _depths(by_id) == {"newsletter": 1, "n8n": 1}
    assert by_id.truncated is True


async def test_an_isolated_node_has_no_neighbours_and_an_unknown_one_is_404(
    memory: MemoryGatewayClient, graph: dict[str, Any]
) -> None:
    await memory.delete_edge("alice", graph["edges"][(graph["nodes"]["smtp"], "pages")])
    alone = await _around(memory, "carol", depth=3)
    assert (alone.nodes, alone.edges) == ([], [])
    with pytest.raises(RemoteServiceError) as caught:
        await memory.graph_neighbors(NeighborsQuery(user_id="alice", node=NodeRef(type="person", key="dave")))
    assert caught.value.status_code == 404


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        yield client


async def test_depth_beyond_three_is_422_naming_the_limit(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "node": {"type": "person", "key": "alice"}, "depth": 4}
    response = await http.post("/v1/graph_neighbors", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"][0]["field"] == "body.depth"
    assert "between 1 and 3" in error["message"]
    assert (await http.post("/v1/graph_neighbors", json={**body, "depth": 0})).status_code == 422


@pytest.mark.parametrize(
    "change",
    [
        {"limit": 101},
        {"limit": 0},
        {"direction": "sideways"},
        {"relations": []},
        {"relations": ["has space"]},
        {"node": {"type": "person"}},
        {"colour": "red"},
    ],
)
async def test_invalid_traversals_are_422(http: httpx.AsyncClient, change: dict[str, Any]) -> None:
    body = {"user_id": "alice", "node": {"type": "person", "key": "alice"}, **change}
    response = await http.post("/v1/graph_neighbors", json=body)
    assert response.status_code == 422, response.text
