"""A loopback fake of the Coda API v1 (table rows and mutation status), for tests of any service.

A real HTTP server (Starlette under uvicorn, on a free 127.0.0.1 port, in a daemon thread, like
`fake_google_calendar`), so the code under test runs its real HTTP client against `fake.url` (the API root,
Coda's `https://coda.io/apis/v1`). It speaks Coda's wire format (https://coda.io/developers/apis/v1):

- `POST /docs/{docId}/tables/{tableIdOrName}/rows` `{"rows": [{"cells": [{"column", "value"}]}],
  "keyColumns"?: [...]}` -> 202 `{"requestId", "addedRowIds"?}` (`addedRowIds` only without keyColumns, as
  Coda documents). With keyColumns, EVERY row whose key cells all equal the edit's is updated (Coda updates
  all matches), else a row is inserted. Columns (cells and keyColumns) may be given by id or by name.
  Values are stored as sent (Coda would parse them unless `disableParsing=true`).
- `PUT /docs/{docId}/tables/{tableIdOrName}/rows/{rowIdOrName}` `{"row": {"cells": [{"column", "value"}]}}`
  (updateRow) -> 202 `{"requestId", "id"}`: the row's given cells change, the others stay; an unknown row ->
  404 at once. Queued like every write (a "write" for `inject`); a row gone by the time it applies is skipped.
- Writes are queued: the 202 comes at once, the change shows in reads (and `completed: true` in
  `GET /mutationStatus/{requestId}`) only `mutation_delay` seconds later; unknown or `expire_mutation`-ed
  ids -> 404 (Coda keeps statuses for about a day, and may 404 briefly right after a write).
- `GET .../rows?query=<column id or "name">:<JSON value>&limit=&pageToken=&useColumnNames=&valueFormat=`
  -> `{"items", "href", "nextPageToken"?, "nextPageLink"?}`; `nextPageToken` only when rows remain; a
  `pageToken` implies every other parameter (Coda ignores them beside it); `limit` is clamped silently to
  `max_page_size`, so a short page never means the end.
- `X-Coda-Doc-Version: latest`: `fail_doc_version(n)` makes the next n reads carrying it answer 400
  "Doc is not yet up to date." (Coda's answer while its snapshot lags); any other value always gets it.
- Errors are `{"statusCode", "statusMessage", "message"}`: 401 for a missing or unknown Bearer token,
  404 for an unknown doc, table or path. A 429 never carries Retry-After (Coda sends none) unless injected.

Coda's size limits, which the fake enforces (400, as Coda answers, not 413):
- a request body of at most 2 MB ("request entity too large" above it);
- a row edit of at most 85 KB, counted as Coda counts it: the values' UTF-8 bytes with every newline
  charged twice, in units of 1024 bytes ("Row edit of size 87 KB exceeds maximum size of 85 KB.").
Sources: Coda's help centre FAQ "Are there API size limits on requests? The limit for requests is 2 MB, but
there is also a limit of 85 KB for any given row." (https://help.coda.io/hc/en-us/articles/39555941038349);
the counting rule and the error texts were measured against the live API (community notes quoting
https://connect.superhuman.com/t/x/44481/1). Published rate limits (which the fake does NOT enforce, so
tests script 429s with `inject`): reads 100 per 6 s, writes 10 per 6 s, per user.

Faults (`inject`): the next `times` requests of a kind ("write", "read", "status"; any when None), after
`skip` of them pass, answer 429, 500, 502/503 (an HTML page, as a CDN answers), or have their connection
closed before (`drop_connection`) or after (`drop_after_apply`: the write is queued first) the work.
Every request is recorded (`recorded`) with its headers and body, for assertions on what was sent and when.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pma_core.testing.threaded_server import DroppedConnection, LoopbackFake

Json = dict[str, Any]
Kind = Literal["write", "read", "status"]
Fault = Literal["rate_limit_429", "server_500", "server_502", "server_503", "drop_connection", "drop_after_apply"]
DEFAULT_TOKEN = "fake-coda-token"
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_ROW_BYTES = 85 * 1024
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 500
NOT_UP_TO_DATE = "Doc is not yet up to date."
_FAULT_STATUS = {"rate_limit_429": 429, "server_500": 500, "server_502": 502, "server_503": 503}
_NO_FILTER = object()


class CodaApiError(Exception):
    """An error answer in Coda's JSON shape."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status, self.message = status, message or HTTPStatus(status).phrase
        super().__init__(self.message)

    def body(self) -> Json:
        return {"statusCode": self.status, "statusMessage": HTTPStatus(self.status).phrase, "message": self.message}


def coda_row_size(values: Mapping[str, Any]) -> int:
    """A row edit's size as Coda counts it against 85 KB: UTF-8 bytes, each newline charged twice."""
    size = 0
    for value in values.values():
        text = value if isinstance(value, str) else json.dumps(value)
        size += len(text.encode()) + text.count("\n")
    return size


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- the store -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    id: str
    cells: dict[str, Any]  # by column id
    created_at: datetime
    updated_at: datetime
    index: int


@dataclass(slots=True)
class _Table:
    id: str
    name: str
    columns: dict[str, str]  # id -> name; the first is the display column (a row's `name`)
    rows: list[_Row] = field(default_factory=list)

    def column_id(self, ref: Any) -> str:
        if isinstance(ref, str):
            if ref in self.columns:
                return ref
            for column_id, name in self.columns.items():
                if name == ref:
                    return column_id
        raise CodaApiError(400, f"Unknown column: {ref!r}")

    def insert(self, cells: dict[str, Any], row_id: str | None = None) -> _Row:
        now = datetime.now(UTC)
        row = _Row(row_id or f"i-{secrets.token_urlsafe(6)}", dict(cells), now, now, len(self.rows))
        self.rows.append(row)
        return row


@dataclass(slots=True)
class _Mutation:
    request_id: str
    table: _Table
    edits: list[dict[str, Any]]
    key_ids: tuple[str, ...]
    new_ids: list[str]  # allocated at once when there are no key columns (Coda's addedRowIds)
    visible_at: float
    applied: bool = False
    row_id: str | None = None  # updateRow: the one row its edit changes

    def apply(self) -> None:
        if self.row_id is not None:
            for row in self.table.rows:
                if row.id == self.row_id:
                    row.cells.update(self.edits[0])
                    row.updated_at = datetime.now(UTC)
            self.applied = True
            return
        for position, cells in enumerate(self.edits):
            matches = [r for r in self.table.rows if self.key_ids and _matches(r, cells, self.key_ids)]
            for row in matches:
                row.cells.update(cells)
                row.updated_at = datetime.now(UTC)
            if not matches:
                self.table.insert(cells, self.new_ids[position] if self.new_ids else None)
        self.applied = True


def _matches(row: _Row, cells: Mapping[str, Any], key_ids: tuple[str, ...]) -> bool:
    return all(row.cells.get(key) == cells[key] for key in key_ids)


@dataclass(frozen=True, slots=True)
class _Cursor:
    doc_id: str
    table_id: str
    column_id: str | None
    value: Any
    offset: int
    limit: int
    use_names: bool


@dataclass(slots=True)
class _FaultRule:
    fault: Fault
    kind: Kind | None
    times: int
    skip: int
    retry_after: int | None

    def take(self, kind: Kind | None) -> bool:
        if self.times <= 0 or kind is None or self.kind not in (None, kind):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.times -= 1
        return True


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it; `received_at` is `time.monotonic()`, headers are lower-cased."""

    kind: Kind | None
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: Any  # the parsed JSON, the raw text if it is not JSON, None when empty
    received_at: float


# --- the server ------------------------------------------------------------------------------------


class FakeCoda(LoopbackFake):
    """`with FakeCoda() as fake:` (or `async with`): Coda's rows and mutation-status endpoints on loopback.

    Set up with `add_table` / `add_row`; script with `mutation_delay`, `max_page_size`, `inject`,
    `fail_doc_version`, `expire_mutation`; assert with `rows`, `key_counts`, `recorded`.
    """

    def __init__(
        self, *, token: str = DEFAULT_TOKEN, mutation_delay: float = 0.3, max_page_size: int = MAX_PAGE_SIZE
    ) -> None:
        self.token = token
        self.mutation_delay = mutation_delay  # seconds from a write's 202 to its visibility
        self.max_page_size = max_page_size
        self._lock = threading.Lock()
        self.reset()

    server_name = "fake-coda"

    def app(self) -> ASGIApp:
        return _build_app(self)

    def reset(self) -> None:
        """Forget docs, rows, mutations, faults and recordings (a shared server between tests)."""
        with self._lock:
            self._tokens = {self.token}
            self._docs: dict[str, dict[str, _Table]] = {}
            self._mutations: dict[str, _Mutation] = {}
            self._expired: set[str] = set()
            self._cursors: dict[str, _Cursor] = {}
            self._faults: list[_FaultRule] = []
            self._stale_reads = 0
            self._recorded: list[RecordedRequest] = []

    @property
    def url(self) -> str:
        """The API root, what `https://coda.io/apis/v1` is for the real one."""
        if self._http is None:
            raise RuntimeError("the fake Coda server is not running")
        return f"http://127.0.0.1:{self._http.port}/apis/v1"

    # setting up, as a user would in Coda's UI (visible at once, not queued)

    def add_token(self, token: str) -> None:
        """Accept another Bearer token besides `token` (a second user or a rotated key)."""
        with self._lock:
            self._tokens.add(token)

    def add_table(self, doc_id: str, table_id: str, *, columns: Mapping[str, str], name: str | None = None) -> None:
        """A table with `columns` (id -> name, e.g. {"c-key": "Key"}; the first is the display column)."""
        with self._lock:
            self._docs.setdefault(doc_id, {})[table_id] = _Table(table_id, name or table_id, dict(columns))

    def add_row(self, doc_id: str, table_id: str, cells: Mapping[str, Any]) -> str:
        """Insert a row at once (cells keyed by column id or name); returns its id."""
        with self._lock:
            table = self._table(doc_id, table_id)
            return table.insert({table.column_id(ref): value for ref, value in cells.items()}).id

    # scripting

    def inject(
        self, fault: Fault, *, times: int = 1, kind: Kind | None = None, skip: int = 0, retry_after: int | None = None
    ) -> None:
        """The next `times` requests of `kind` (any when None), after `skip` pass, get `fault`."""
        with self._lock:
            self._faults.append(_FaultRule(fault, kind, times, skip, retry_after))

    def pending_faults(self) -> int:
        """Faulty answers injected and not given yet."""
        with self._lock:
            return sum(rule.times for rule in self._faults)

    def fail_doc_version(self, times: int = 1) -> None:
        """The next `times` reads sent with `X-Coda-Doc-Version: latest` answer 400 (snapshot not ready)."""
        with self._lock:
            self._stale_reads += times

    def expire_mutation(self, request_id: str) -> None:
        """Its status now answers 404, as when Coda has dropped it (the write itself still lands)."""
        with self._lock:
            self._expired.add(request_id)

    def settle(self) -> None:
        """Apply every queued write now, whatever the delay."""
        with self._lock:
            for mutation in self._mutations.values():
                if not mutation.applied:
                    mutation.apply()

    # inspecting

    def rows(self, doc_id: str, table_id: str) -> list[Json]:
        """The visible rows as `listRows` items (values keyed by column id)."""
        with self._lock:
            self._settle()
            table = self._table(doc_id, table_id)
            return [self._item(doc_id, table, row, use_names=False) for row in table.rows]

    def key_counts(self, doc_id: str, table_id: str, column: str) -> Counter[Any]:
        """How many visible rows hold each value of `column` (id or name): 1 each = nothing posted twice."""
        with self._lock:
            self._settle()
            table = self._table(doc_id, table_id)
            column_id = table.column_id(column)
            return Counter(row.cells.get(column_id, "") for row in table.rows)

    def pending_mutations(self) -> int:
        """Writes accepted (202) and not visible yet."""
        with self._lock:
            self._settle()
            return sum(not mutation.applied for mutation in self._mutations.values())

    @property
    def recorded(self) -> list[RecordedRequest]:
        """Every request received, in order (refused and faulted ones too)."""
        with self._lock:
            return list(self._recorded)

    def requests(self, kind: Kind) -> list[RecordedRequest]:
        """The recorded requests of one kind: "write" (upserts, row updates), "read" (row lists), "status"."""
        return [request for request in self.recorded if request.kind == kind]

    # the store (callers hold the lock)

    def _table(self, doc_id: str, table_id: str) -> _Table:
        tables = self._docs.get(doc_id)
        if tables is None:
            raise CodaApiError(404)
        table = tables.get(table_id) or next((t for t in tables.values() if t.name == table_id), None)
        if table is None:
            raise CodaApiError(404)
        return table

    def _settle(self) -> None:
        # Coda applies writes in the order it accepted them: a later one never overtakes an earlier one.
        now = time.monotonic()
        for mutation in self._mutations.values():
            if not mutation.applied:
                if mutation.visible_at > now:
                    return
                mutation.apply()

    def _item(self, doc_id: str, table: _Table, row: _Row, *, use_names: bool) -> Json:
        values = {
            (name if use_names else column_id): row.cells.get(column_id, "")
            for column_id, name in table.columns.items()
        }
        display = next(iter(table.columns), None)
        return {
            "id": row.id, "type": "row", "href": f"{self.url}/docs/{doc_id}/tables/{table.id}/rows/{row.id}",
            "name": str(row.cells.get(display, "")) if display else "", "index": row.index,
            "browserLink": f"https://coda.io/d/_d{doc_id}#_tu{table.id}/_ru{row.id}",
            "createdAt": _stamp(row.created_at), "updatedAt": _stamp(row.updated_at), "values": values,
        }  # fmt: skip

    def _upsert(self, doc_id: str, table_id: str, raw: bytes) -> Json:
        if len(raw) > MAX_REQUEST_BYTES:
            raise CodaApiError(400, "request entity too large")
        table = self._table(doc_id, table_id)
        body = _parse_json(raw)
        if not isinstance(body, dict) or not isinstance(body.get("rows"), list) or not body["rows"]:
            raise CodaApiError(400, "The request body must have a non-empty `rows` array.")
        key_ids = tuple(table.column_id(ref) for ref in body.get("keyColumns") or [])
        edits = [_row_edit(table, edit, key_ids) for edit in body["rows"]]
        new_ids = [] if key_ids else [f"i-{secrets.token_urlsafe(6)}" for _ in edits]
        request_id = f"mutate:{secrets.token_hex(8)}"
        visible_at = time.monotonic() + self.mutation_delay
        self._mutations[request_id] = _Mutation(request_id, table, edits, key_ids, new_ids, visible_at)
        self._settle()  # a zero delay makes the write visible to the very next read
        return {"requestId": request_id} | ({} if key_ids else {"addedRowIds": new_ids})

    def _update_row(self, doc_id: str, table_id: str, row_ref: str, raw: bytes) -> Json:
        if len(raw) > MAX_REQUEST_BYTES:
            raise CodaApiError(400, "request entity too large")
        table = self._table(doc_id, table_id)
        row = next((r for r in table.rows if r.id == row_ref), None)
        display = next(iter(table.columns), None)
        if row is None and display is not None:  # a row is also found by its display value (its name)
            row = next((r for r in table.rows if str(r.cells.get(display, "")) == row_ref), None)
        if row is None:
            raise CodaApiError(404, f"Row {row_ref!r} not found.")
        body = _parse_json(raw)
        edit = body.get("row") if isinstance(body, dict) else None
        if not isinstance(edit, dict):
            raise CodaApiError(400, "The request body must have a `row` object.")
        cells = _row_edit(table, edit, ())
        request_id = f"mutate:{secrets.token_hex(8)}"
        visible_at = time.monotonic() + self.mutation_delay
        self._mutations[request_id] = _Mutation(request_id, table, [cells], (), [], visible_at, row_id=row.id)
        self._settle()
        return {"requestId": request_id, "id": row.id}

    def _list_rows(self, doc_id: str, table_id: str, request: Request) -> Json:
        version = request.headers.get("x-coda-doc-version")
        if version is not None and version != "latest":
            raise CodaApiError(400, NOT_UP_TO_DATE)
        if version == "latest" and self._stale_reads > 0:
            self._stale_reads -= 1
            raise CodaApiError(400, NOT_UP_TO_DATE)
        cursor = self._cursor(doc_id, table_id, request)
        table = self._table(cursor.doc_id, cursor.table_id)
        matching = [
            row for row in table.rows
            if cursor.column_id is None or row.cells.get(cursor.column_id, "") == cursor.value
        ]  # fmt: skip
        end = cursor.offset + cursor.limit
        items = [self._item(doc_id, table, row, use_names=cursor.use_names) for row in matching[cursor.offset : end]]
        page: Json = {"items": items, "href": str(request.url)}
        if end < len(matching):
            token = secrets.token_urlsafe(12)
            self._cursors[token] = replace(cursor, offset=end)
            page["nextPageToken"] = token
            page["nextPageLink"] = f"{self.url}/docs/{doc_id}/tables/{table_id}/rows?pageToken={token}"
        return page

    def _cursor(self, doc_id: str, table_id: str, request: Request) -> _Cursor:
        params = request.query_params
        if "pageToken" in params:
            cursor = self._cursors.get(params["pageToken"])
            if cursor is None or cursor.doc_id != doc_id or self._table(doc_id, table_id).id != cursor.table_id:
                raise CodaApiError(400, "Invalid pageToken.")
            return cursor
        table = self._table(doc_id, table_id)
        if params.get("valueFormat", "simple") not in ("simple", "simpleWithArrays", "rich"):
            raise CodaApiError(400, f"Invalid valueFormat: {params['valueFormat']!r}")
        try:
            limit = int(params.get("limit", DEFAULT_PAGE_SIZE))
        except ValueError:
            raise CodaApiError(400, "Invalid limit.") from None
        if limit < 1:
            raise CodaApiError(400, "Invalid limit.")
        column_id, value = _parse_query(table, params["query"]) if "query" in params else (None, _NO_FILTER)
        use_names = params.get("useColumnNames", "false").lower() == "true"
        return _Cursor(doc_id, table.id, column_id, value, 0, min(limit, self.max_page_size), use_names)

    def _mutation_status(self, request_id: str) -> Json:
        mutation = self._mutations.get(request_id)
        if mutation is None or request_id in self._expired:
            raise CodaApiError(404)
        return {"completed": mutation.applied}

    # serving

    def _record(self, kind: Kind | None, request: Request, raw: bytes) -> None:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        query = tuple(request.query_params.multi_items())
        headers = dict(request.headers)
        entry = RecordedRequest(kind, request.method, request.url.path, query, headers, body, time.monotonic())
        with self._lock:
            self._recorded.append(entry)

    def _take_fault(self, kind: Kind | None) -> _FaultRule | None:
        with self._lock:
            rule = next((rule for rule in self._faults if rule.take(kind)), None)
            self._faults = [rule for rule in self._faults if rule.times > 0]
            return rule

    def _authorize(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            if scheme.lower() != "bearer" or token not in self._tokens:
                raise CodaApiError(401)

    async def _serve(self, kind: Kind | None, request: Request) -> Response:
        raw = await request.body()
        self._record(kind, request, raw)
        rule: _FaultRule | None = None
        try:
            self._authorize(request)
            rule = self._take_fault(kind)
            if rule is not None and rule.fault == "drop_connection":
                return DroppedConnection()
            if rule is not None and rule.fault != "drop_after_apply":
                return _fault_response(rule)
            status, payload = self._dispatch(kind, request, raw)
        except CodaApiError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        if rule is not None:  # drop_after_apply: the work is done, the answer never arrives
            return DroppedConnection()
        return JSONResponse(payload, status_code=status)

    def _dispatch(self, kind: Kind | None, request: Request, raw: bytes) -> tuple[int, Json]:
        params = request.path_params
        with self._lock:
            self._settle()
            if kind == "write" and "row_id" in params:
                return 202, self._update_row(params["doc_id"], params["table_id"], params["row_id"], raw)
            if kind == "write":
                return 202, self._upsert(params["doc_id"], params["table_id"], raw)
            if kind == "read":
                return 200, self._list_rows(params["doc_id"], params["table_id"], request)
            if kind == "status":
                return 200, self._mutation_status(params["request_id"])
        raise CodaApiError(404)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise CodaApiError(400, "The request body is not valid JSON.") from None


def _row_edit(table: _Table, edit: Any, key_ids: tuple[str, ...]) -> dict[str, Any]:
    cells = edit.get("cells") if isinstance(edit, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) and "column" in c for c in cells):
        raise CodaApiError(400, "Each row must have a `cells` array of {column, value}.")
    values = {table.column_id(cell["column"]): cell.get("value", "") for cell in cells}
    missing = [key for key in key_ids if key not in values]
    if missing:
        raise CodaApiError(400, f"Row is missing a value for key column {missing[0]}.")
    size = coda_row_size(values)
    if size > MAX_ROW_BYTES:
        raise CodaApiError(400, f"Row edit of size {round(size / 1024)} KB exceeds maximum size of 85 KB.")
    return values


def _parse_query(table: _Table, query: str) -> tuple[str, Any]:
    """`<column id>:<JSON value>` or `"<column name>":<JSON value>` (a name must be quoted in Coda)."""
    try:
        if query.startswith('"'):
            ref, end = json.JSONDecoder().raw_decode(query)
            rest = query[end:]
        else:
            ref, colon, value = query.partition(":")
            rest = colon + value
        if not rest.startswith(":"):
            raise ValueError(query)
        return table.column_id(ref), json.loads(rest[1:])
    except ValueError:
        raise CodaApiError(400, f"Invalid query: {query!r}") from None


def _fault_response(rule: _FaultRule) -> Response:
    status = _FAULT_STATUS[rule.fault]
    if status in (502, 503):  # the CDN in front of Coda answers these, with a page rather than JSON
        return HTMLResponse(f"<html><body><h1>{status} {HTTPStatus(status).phrase}</h1></body></html>", status)
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
    return JSONResponse(CodaApiError(status).body(), status_code=status, headers=headers)


def _build_app(fake: FakeCoda) -> Starlette:
    def route(kinds: Mapping[str, Kind | None]) -> Any:
        async def endpoint(request: Request) -> Response:
            return await fake._serve(kinds.get(request.method), request)

        return endpoint

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    rows = route({"POST": "write", "GET": "read"})
    return Starlette(
        routes=[
            Route("/apis/v1/docs/{doc_id}/tables/{table_id}/rows", rows, methods=methods),
            Route("/apis/v1/docs/{doc_id}/tables/{table_id}/rows/{row_id}", route({"PUT": "write"}), methods=methods),
            Route("/apis/v1/mutationStatus/{request_id}", route({"GET": "status"}), methods=methods),
            Route("/{path:path}", route({}), methods=methods),  # anything else: Coda's JSON 404
        ]
    )


__all__ = [
    "DEFAULT_TOKEN",
    "MAX_PAGE_SIZE",
    "MAX_REQUEST_BYTES",
    "MAX_ROW_BYTES",
    "NOT_UP_TO_DATE",
    "CodaApiError",
    "FakeCoda",
    "Fault",
    "Kind",
    "RecordedRequest",
    "coda_row_size",
]
