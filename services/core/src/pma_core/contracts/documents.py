"""The memory-gateway's document contract: ingest (chunk + index), list, get, delete, and search_docs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from pma_core.contracts.common import Metadata, RequestModel, UserId
from pma_core.contracts.memory import (
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    NOT_BLANK,
    NOT_BLANK_PATTERN,
    LexicalOnly,
    ScoreParts,
    is_blank,
)

MediaType = Literal["text/markdown", "text/plain"]
IngestOutcome = Literal["created", "replaced", "unchanged"]

# The longest document accepted, in characters (not bytes). Note that the request body is also bounded by
# HTTP_MAX_BODY_BYTES (1 MiB by default): a gateway that must take documents this long needs that limit
# raised (2,000,000 characters are 2-8 MB of JSON depending on the script).
MAX_DOCUMENT_CHARS = 2_000_000
# Chunk sizes, in characters: ~1,200 characters (~250 words) keeps a chunk to one idea yet gives the embedder
# enough context; 200 characters of overlap carry a sentence or two across each cut.
DEFAULT_CHUNK_CHARS = 1_200
DEFAULT_OVERLAP_CHARS = 200
_OVERLAP_DIVISOR = DEFAULT_CHUNK_CHARS // DEFAULT_OVERLAP_CHARS
MIN_CHUNK_CHARS = 200
MAX_CHUNK_CHARS = 8_000
MAX_DOC_KEYS = 50
# The furthest a listing may page (OFFSET): Postgres int4, far past any user's documents; unbounded, a huge
# offset overflowed the driver's int64 (a 500).
MAX_OFFSET = 2_147_483_647

DocKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NOT_BLANK]
DocLabel = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class DocumentIngest(_Strict):
    """A document to store and index. Ingesting an existing `doc_key` again replaces it whole."""

    user_id: UserId
    doc_key: DocKey = Field(
        description="The caller's stable name for the document (a URL, a path, a Coda doc id); unique per user."
    )
    title: DocLabel = ""
    source: DocLabel = ""
    media_type: MediaType = Field(
        default="text/markdown",
        description="text/markdown: chunks keep the path of headings they sit under; text/plain: no headings.",
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_DOCUMENT_CHARS,
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
        description=(
            f"The whole document, 1 to {MAX_DOCUMENT_CHARS:,} characters (also bounded by the gateway's "
            "HTTP_MAX_BODY_BYTES). Sections holding only headings or whitespace produce no chunk."
        ),
    )
    metadata: Metadata = Field(default_factory=dict)
    chunk_chars: int = Field(
        default=DEFAULT_CHUNK_CHARS,
        ge=MIN_CHUNK_CHARS,
        le=MAX_CHUNK_CHARS,
        description="The most characters a chunk holds (overlap included).",
    )
    overlap_chars: int = Field(
        default=DEFAULT_OVERLAP_CHARS,
        ge=0,
        le=MAX_CHUNK_CHARS // 2,
        description=(
            "Characters a chunk repeats from the end of the previous one; at most chunk_chars / 2. "
            "Default: chunk_chars / 6 (200 for the default chunk size)."
        ),
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if is_blank(text):
            raise ValueError("text holds only whitespace")
        return text

    @field_validator("doc_key", "title", "source", "text", "metadata")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Postgres text and jsonb cannot hold the NUL character: refuse it here with a 422, not a 500 later.
        if _has_nul(value):
            raise ValueError("contains a NUL character (\\x00), which cannot be stored")
        return value

    @model_validator(mode="after")
    def _overlap_within_chunk(self) -> DocumentIngest:
        if "overlap_chars" not in self.model_fields_set:
            # The default scales with the chunk size, so setting only chunk_chars is always valid.
            self.overlap_chars = self.chunk_chars // _OVERLAP_DIVISOR
        if self.overlap_chars > self.chunk_chars // 2:
            raise ValueError(f"overlap_chars must be at most chunk_chars / 2 ({self.chunk_chars // 2})")
        return self


class DocumentRead(BaseModel):
    id: UUID
    user_id: str
    doc_key: str
    title: str
    source: str
    media_type: MediaType
    metadata: dict[str, Any]
    chunk_count: int
    created_at: datetime
    updated_at: datetime = Field(
        description="When the document's content last changed (an unchanged re-ingest keeps it)."
    )


class IngestRead(BaseModel):
    document: DocumentRead
    outcome: IngestOutcome = Field(
        description="created (new doc_key); replaced (content changed: chunks rewritten); unchanged (identical)"
    )
    chunks: int = Field(description="Chunks written by this call: 0 when unchanged.")


class DocumentListRead(BaseModel):
    documents: list[DocumentRead] = Field(description="Most recently changed first.")


class DocSearchRequest(_Strict):
    user_id: UserId
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS), NOT_BLANK]
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    doc_keys: list[DocKey] | None = Field(
        default=None, min_length=1, max_length=MAX_DOC_KEYS, description="Search only these documents."
    )
    mmr: bool = Field(default=False, description="Re-rank for diversity (maximal marginal relevance).")
    mmr_lambda: float = Field(default=0.5, ge=0, le=1, description="1 = relevance only, 0 = diversity only.")
    recency: bool = Field(
        default=False,
        description=(
            "Weight hits by how recently their document changed, with the memories' half-life. Off by default: "
            "a document's age says little about its relevance."
        ),
    )


class DocHit(BaseModel):
    document_id: UUID
    doc_key: str
    title: str
    chunk_id: UUID
    ordinal: int = Field(description="The chunk's position in its document, from 0.")
    heading_path: list[str] = Field(
        description='The markdown headings the chunk sits under, e.g. ["Setup", "Install"].'
    )
    text: str
    score: float
    parts: ScoreParts = Field(description="As for recall; `importance` is always 1 (documents have none).")


class DocSearchRead(BaseModel):
    hits: list[DocHit]
    lexical_only: LexicalOnly = False
    took_ms: float
