"""The memory-gateway's knowledge-graph contract: upsert nodes and edges, read, delete, graph_neighbors.

A node is identified by its id, or by its natural key `(node_type, key)`, unique per user; an upsert with
a known natural key updates that node. An edge is unique per (source, relation, target) and names its
ends with a `NodeRef`: `{"id": "<uuid>"}` or `{"type": "project", "key": "newsletter"}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pma_core.contracts.common import IsoDatetime, Metadata, RequestModel, UserId
from pma_core.contracts.memory import NOT_BLANK

# The relation pattern the graph_edges table checks; node types follow it too, so they read alike.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
MAX_BATCH = 100
MAX_LIMIT = 100
# Each hop multiplies the nodes a traversal touches; past three hops the answer is most of the graph.
MAX_DEPTH = 3

NodeType = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Relation = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAME_PATTERN)]
NodeKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NOT_BLANK]
NodeName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Direction = Literal["out", "in", "both"]


def _bounded_depth(value: int) -> int:
    if not 1 <= value <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}: deeper traversals return most of the graph")
    return value


Depth = Annotated[int, AfterValidator(_bounded_depth), Field(json_schema_extra={"minimum": 1, "maximum": MAX_DEPTH})]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class NodeRef(_Strict):
    """A node of the same user: `{"id": ...}` or `{"type": ..., "key": ...}`, never both."""

    # "Either id, or type and key, not both", in the schema: the other form's fields left out (or null).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}, "type": {"type": "null"}, "key": {"type": "null"}},
                },
                {
                    "required": ["type", "key"],
                    "properties": {"type": {"type": "string"}, "key": {"type": "string"}, "id": {"type": "null"}},
                },
            ]
        }
    )

    id: UUID | None = None
    type: NodeType | None = None
    key: NodeKey | None = None

    @model_validator(mode="after")
    def _one_form(self) -> NodeRef:
        by_key = self.type is not None or self.key is not None
        if self.id is not None and by_key:
            raise ValueError("give either id, or type and key, not both")
        if self.id is None and (self.type is None or self.key is None):
            raise ValueError("give either id, or both type and key")
        return self

    def describe(self) -> str:
        return f"id {self.id}" if self.id is not None else f"(type {self.type!r}, key {self.key!r})"


class _Validity(_Strict):
    valid_from: IsoDatetime | None = Field(
        default=None, description="Valid since (default: when first stored; omitted on update: kept)."
    )
    valid_to: IsoDatetime | None = Field(
        default=None,
        description="Valid until (exclusive); omitted = open-ended. Past = expired. After valid_from (the one"
        " given, else the stored one, else now).",
    )

    @model_validator(mode="after")
    def _ordered_validity(self) -> _Validity:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class NodeItem(_Validity):
    """A node to create or update by its natural key; name, properties and valid_to are replaced."""

    node_type: NodeType = Field(description="e.g. person, project, tool, sop.")
    key: NodeKey = Field(description="The node's stable name within its type, e.g. an email or a slug.")
    name: NodeName = ""
    properties: Metadata = Field(default_factory=dict)


class NodeUpsert(NodeItem):
    user_id: UserId


class NodeRead(BaseModel):
    id: UUID
    user_id: str
    node_type: str
    key: str
    name: str
    properties: dict[str, Any]
    valid_from: datetime
    valid_to: datetime | None
    created_at: datetime
    updated_at: datetime


class EdgeItem(_Validity):
    """An edge to create or update by (source, relation, target); properties, weight, valid_to replaced."""

    source: NodeRef
    target: NodeRef
    relation: Relation = Field(description="e.g. works_on, uses, depends_on.")
    properties: Metadata = Field(default_factory=dict)
    weight: float = Field(default=1.0, allow_inf_nan=False)


class EdgeUpsert(EdgeItem):
    user_id: UserId


class EdgeRead(BaseModel):
    id: UUID
    user_id: str
    source_id: UUID
    target_id: UUID
    relation: str
    properties: dict[str, Any]
    weight: float
    valid_from: datetime
    valid_to: datetime | None
    created_at: datetime
    updated_at: datetime


class GraphUpsert(_Strict):
    """Nodes, then edges, in one transaction: the edges may name nodes of the same batch by (type, key)."""

    # "At least one node or edge", in the schema.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["nodes"], "properties": {"nodes": {"minItems": 1}}},
                {"required": ["edges"], "properties": {"edges": {"minItems": 1}}},
            ]
        }
    )

    user_id: UserId
    nodes: list[NodeItem] = Field(default_factory=list, max_length=MAX_BATCH)
    edges: list[EdgeItem] = Field(default_factory=list, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _not_empty(self) -> GraphUpsert:
        if not self.nodes and not self.edges:
            raise ValueError("give at least one node or edge")
        return self


class GraphUpsertRead(BaseModel):
    nodes: list[NodeRead]
    edges: list[EdgeRead]


class NeighborsQuery(_Strict):
    """graph_neighbors: the nodes within `depth` hops of one node, each with one shortest path to it."""

    user_id: UserId
    node: NodeRef = Field(description="Where the traversal starts.")
    depth: Depth = Field(default=1, description=f"Hops, 1 to {MAX_DEPTH}.")
    relations: list[Relation] | None = Field(
        default=None, min_length=1, max_length=50, description="Follow only these."
    )
    direction: Direction = Field(default="both", description="out: source -> target; in: target -> source.")
    node_types: list[NodeType] | None = Field(
        default=None, min_length=1, max_length=50, description="Return only these types (traversal passes others)."
    )
    include_expired: bool = Field(default=False, description="Also follow edges and nodes whose valid_to is past.")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


class PathStep(BaseModel):
    edge_id: UUID
    relation: str
    direction: Literal["out", "in"] = Field(description="out: the edge was followed source -> target.")
    node_id: UUID = Field(description="The node this step reaches.")


class NeighborRead(BaseModel):
    node: NodeRead
    depth: int
    path: list[PathStep] = Field(description="From the origin to this node; len(path) == depth.")


class NeighborsRead(BaseModel):
    origin: NodeRead
    nodes: list[NeighborRead] = Field(description="Nearest first; each node once.")
    edges: list[EdgeRead] = Field(description="Every edge on the returned paths, once.")
    truncated: bool = Field(description="More nodes matched than `limit`.")
