"""Static checks of the n8n workflows in n8n-workflows/, without n8n (tests/test_n8n_workflows.py runs them).

- `structure_problems`: the JSON shape n8n imports and runs (keys, ids of at most 21 characters, unique
  names, connections between existing nodes, node types and versions that n8n-nodes-base 2.8.4 has,
  executionOrder v1, a Manual Trigger, a Config node before every HTTP call, credentials by their two
  stable names, no token in the JSON, every URL on the internal hostnames or Coda's API).
- `http_calls` + `service_call_problems` / `coda_call_problems`: each HTTP Request node's method, URL,
  query, headers and body, evaluated by `resolve` (a small evaluator of the expression forms the
  workflows use) over a recorded trace (n8n-workflows/testdata/<workflow>.json: what one real execution's
  nodes output, the Code nodes' outputs recomputed from it), then checked against the service's OpenAPI
  (path, method, query and header names, the body validated by the route's own pydantic model) or
  against Coda's API (listRows, updateRow).
- `run_code_nodes`: every Code node's JavaScript run in Node.js (a `vm` sandbox with `$input`, `$()`,
  `$getWorkflowStaticData`, `$execution` and a fixed clock) over its recorded input, so the recorded
  outputs the checks above read are what the code really produces.

`python tests/n8n_workflows.py --recompute` rewrites the Code nodes' outputs of every trace after a Code
node changed (needs `node`); `tests/n8n/run_n8n.py --record` records the traces anew from a real run.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = ROOT / "n8n-workflows"
TESTDATA_DIR = WORKFLOW_DIR / "testdata"
N8N_NODES_BASE = ROOT / ".tools" / "n8n" / "node_modules" / "n8n-nodes-base"

Json = dict[str, Any]

# The services as n8n reaches them: on the internal network, never through Traefik or a local port.
SERVICE_BASE_URLS = {
    "memory-gateway": "http://pma-memory-gateway:8000",
    "planner-engine": "http://pma-planner-engine:8000",
    "scheduler-engine": "http://pma-scheduler-engine:8000",
    "observer-agent": "http://pma-observer-agent:8000",
}
CODA_API_ROOT = "https://coda.io/apis/v1"
# Credentials by stable name, type and id, so `n8n import:credentials` (or the UI) can create them.
CREDENTIALS = {"PMA API token": "pmaApiToken", "Coda API token": "codaApiToken"}
CREDENTIAL_TYPE = "httpBearerAuth"
# What a webhook asks its callers for (a header, `Authorization: Bearer <token>`): its own credential, so the
# callers of n8n's public webhook never hold the services' token.
WEBHOOK_CREDENTIAL = ("httpHeaderAuth", "PMA webhook token", "pmaWebhookToken")

# Node types and the versions each has, read from n8n-nodes-base 2.8.4 (the package n8n 2.8.4 installs:
# each node's `version` / `nodeVersions` in dist/nodes/**/*.node.js). n8n's import does not check
# versions, so a wrong one fails only when the workflow runs. Keep to the nodes the workflows use or
# might; `test_the_allow_list_matches_the_installed_n8n` compares it with .tools/n8n when it is there.
NODE_TYPES: dict[str, frozenset[float]] = {
    "n8n-nodes-base.httpRequest": frozenset({1, 2, 3, 4, 4.1, 4.2, 4.3, 4.4}),
    "n8n-nodes-base.scheduleTrigger": frozenset({1, 1.1, 1.2, 1.3}),
    "n8n-nodes-base.manualTrigger": frozenset({1}),
    "n8n-nodes-base.webhook": frozenset({1, 1.1, 2, 2.1}),
    "n8n-nodes-base.respondToWebhook": frozenset({1, 1.1, 1.2, 1.3, 1.4, 1.5}),
    "n8n-nodes-base.if": frozenset({1, 2, 2.1, 2.2, 2.3}),
    "n8n-nodes-base.filter": frozenset({1, 2, 2.1, 2.2, 2.3}),
    "n8n-nodes-base.code": frozenset({1, 2}),
    "n8n-nodes-base.set": frozenset({1, 2, 3, 3.1, 3.2, 3.3, 3.4}),
    "n8n-nodes-base.wait": frozenset({1, 1.1}),
    "n8n-nodes-base.stopAndError": frozenset({1}),
    "n8n-nodes-base.noOp": frozenset({1}),
    "n8n-nodes-base.merge": frozenset({1, 2, 2.1, 3, 3.1, 3.2}),
    "n8n-nodes-base.splitInBatches": frozenset({1, 2, 3}),
}
TRIGGERS = {"n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.manualTrigger", "n8n-nodes-base.webhook"}
# Nodes that pass their input on (perhaps filtered): a trace walks through them to the data.
PASS_THROUGH = {"n8n-nodes-base.if", "n8n-nodes-base.filter", "n8n-nodes-base.wait", "n8n-nodes-base.noOp"}
HTTP = "n8n-nodes-base.httpRequest"
CODE = "n8n-nodes-base.code"
WEBHOOK = "n8n-nodes-base.webhook"
SET = "n8n-nodes-base.set"
MAX_ID = 21  # n8n's isWorkflowIdValid, and what its database columns hold
# POSTs that are idempotent without a key: the observer's triggers rebuild one reflection per period.
IDEMPOTENT_WITHOUT_KEY = {("observer-agent", "/v1/reflections/daily"), ("observer-agent", "/v1/reflections/weekly")}
# Coda: 10 writes per 6 s per token, shared with the observer (see n8n-workflows/README.md).
CODA_MIN_WRITE_INTERVAL_MS = 2500
_URL = re.compile(r"https?://[^\s\"'`<>{}]+")
_TOKEN = re.compile(r"(?i)bearer\s+(?!\{\{)[A-Za-z0-9._~+/=-]{6,}")


def load_workflows(directory: Path = WORKFLOW_DIR) -> dict[str, Json]:
    """Every exported workflow, by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def load_trace(stem: str) -> Json:
    return json.loads((TESTDATA_DIR / f"{stem}.json").read_text())


def write_trace(stem: str, trace: Json) -> None:
    TESTDATA_DIR.mkdir(exist_ok=True)
    (TESTDATA_DIR / f"{stem}.json").write_text(json.dumps(trace, indent=2, ensure_ascii=False) + "\n")


def nodes_by_name(workflow: Json) -> dict[str, Json]:
    return {node["name"]: node for node in workflow["nodes"]}


def edges(workflow: Json) -> Iterator[tuple[str, int, str]]:
    """(source, output index, target) for every main connection."""
    for source, kinds in workflow.get("connections", {}).items():
        for output, targets in enumerate(kinds.get("main", [])):
            for target in targets or []:
                yield source, output, target["node"]


def parents(workflow: Json, name: str) -> list[tuple[str, int]]:
    return [(source, output) for source, output, target in edges(workflow) if target == name]


def children(workflow: Json, name: str) -> list[str]:
    return [target for source, _, target in edges(workflow) if source == name]


def reachable(workflow: Json, start: str) -> list[str]:
    """Nodes reachable from `start`, breadth first (the order the checks evaluate them in)."""
    order, queue = [start], [start]
    while queue:
        for child in children(workflow, queue.pop(0)):
            if child not in order:
                order.append(child)
                queue.append(child)
    return order


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def http_target(url: str) -> tuple[str, str] | None:
    """("<service>" or "coda", path without query) for a resolved URL; None when it is neither."""
    for service, base in SERVICE_BASE_URLS.items():
        if url.startswith(base + "/"):
            return service, url[len(base) :].split("?")[0]
    if url.startswith(CODA_API_ROOT + "/"):
        return "coda", url[len(CODA_API_ROOT) :].split("?")[0]
    return None


# --- structure -------------------------------------------------------------------------------------


def structure_problems(workflow: Json) -> list[str]:
    """What n8n 2.8 would refuse or run wrongly, and what the workflows' rules forbid; [] when none."""
    problems: list[str] = []
    for key in ("name", "nodes", "connections", "settings"):
        if key not in workflow:
            problems.append(f"the workflow has no {key!r}")
    if problems:
        return problems
    if not isinstance(workflow.get("id"), str) or not 0 < len(workflow["id"]) <= MAX_ID:
        problems.append(f"workflow id {workflow.get('id')!r}: a string of 1 to {MAX_ID} characters")
    if workflow["settings"].get("executionOrder") != "v1":
        problems.append("settings.executionOrder must be 'v1'")
    names = [node.get("name") for node in workflow["nodes"]]
    ids = [node.get("id") for node in workflow["nodes"]]
    problems += [f"node name {name!r} is used twice" for name in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"node id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for node in workflow["nodes"]:
        problems += _node_problems(node)
    known = set(names)
    for source, kinds in workflow["connections"].items():
        if source not in known:
            problems.append(f"a connection starts at {source!r}, which is no node")
        for kind, outputs in kinds.items():
            if kind != "main":
                problems.append(f"{source!r}: connection type {kind!r} (only 'main' is used)")
            for targets in outputs or []:
                for target in targets or []:
                    if target.get("node") not in known:
                        problems.append(f"{source!r} connects to {target.get('node')!r}, which is no node")
                    if target.get("type") != "main" or not isinstance(target.get("index"), int):
                        problems.append(f"{source!r} -> {target.get('node')!r}: type 'main' and an int index")
    problems += _secret_and_url_problems(workflow)
    if any("no node" in problem for problem in problems):
        return problems
    return problems + _flow_problems(workflow)


def _node_problems(node: Json) -> list[str]:
    name = node.get("name", "?")
    problems = []
    if not isinstance(node.get("id"), str) or not 0 < len(node["id"]) <= MAX_ID:
        problems.append(f"{name}: node id {node.get('id')!r} must be 1 to {MAX_ID} characters")
    versions = NODE_TYPES.get(node.get("type", ""))
    if versions is None:
        problems.append(f"{name}: node type {node.get('type')!r} is not in the allow-list (n8n-nodes-base 2.8.4)")
    elif node.get("typeVersion") not in versions:
        problems.append(f"{name}: {node['type']} has no version {node.get('typeVersion')!r} in n8n 2.8.4")
    if not isinstance(node.get("parameters"), dict):
        problems.append(f"{name}: no parameters object")
    position = node.get("position")
    if not (isinstance(position, list) and len(position) == 2):
        problems.append(f"{name}: position must be [x, y]")
    for kind, credential in (node.get("credentials") or {}).items():
        problems += _credential_problems(node, kind, credential)
    if node.get("type") == WEBHOOK and (node.get("parameters") or {}).get("authentication") != "headerAuth":
        problems.append(f"{name}: a webhook without header auth lets anyone on the internet log events")
    if node.get("type") == HTTP:
        problems += _http_node_problems(node)
    if node.get("type") == CODE and not (node.get("parameters") or {}).get("jsCode", "").strip():
        problems.append(f"{name}: a Code node without jsCode")
    return problems


def _credential_problems(node: Json, kind: str, credential: Json) -> list[str]:
    given = (kind, credential.get("name"), credential.get("id"))
    if node.get("type") == WEBHOOK:
        allowed = [WEBHOOK_CREDENTIAL]
    else:
        allowed = [(CREDENTIAL_TYPE, n, i) for n, i in CREDENTIALS.items()]
    if given in allowed:
        return []
    return [f"{node['name']}: credential {'/'.join(map(repr, given))}; only {', '.join(map(str, allowed))}"]


def _http_node_problems(node: Json) -> list[str]:
    name, params = node["name"], node["parameters"]
    problems = []
    if params.get("authentication") != "genericCredentialType" or params.get("genericAuthType") != CREDENTIAL_TYPE:
        problems.append(f"{name}: authentication must be genericCredentialType / {CREDENTIAL_TYPE}")
    credential = (node.get("credentials") or {}).get(CREDENTIAL_TYPE, {}).get("name")
    url = str(params.get("url", ""))
    wanted = "Coda API token" if "coda_base_url" in url or CODA_API_ROOT in url else "PMA API token"
    if credential != wanted:
        problems.append(f"{name}: calls {'Coda' if wanted.startswith('Coda') else 'a service'} with {credential!r}")
    for header in (params.get("headerParameters") or {}).get("parameters", []):
        if str(header.get("name", "")).lower() == "authorization":
            problems.append(f"{name}: an Authorization header by hand (the credential sends it)")
    if not node.get("retryOnFail") or not 2 <= int(node.get("maxTries", 0)) <= 5:
        problems.append(f"{name}: retryOnFail with maxTries 2..5 (every call here is idempotent)")
    elif not 0 < int(node.get("waitBetweenTries", 0)) <= 5000:
        problems.append(f"{name}: waitBetweenTries 1..5000 ms (n8n's limit)")
    return problems


def _flow_problems(workflow: Json) -> list[str]:
    problems = []
    by_name = nodes_by_name(workflow)
    triggers = [node for node in workflow["nodes"] if node["type"] in TRIGGERS]
    if not any(node["type"] == "n8n-nodes-base.manualTrigger" for node in triggers):
        problems.append("no Manual Trigger: `n8n execute --id` starts from one")
    http_nodes = [node["name"] for node in workflow["nodes"] if node["type"] == HTTP]
    config = by_name.get("Config")
    if http_nodes and (config is None or config["type"] not in (SET, CODE)):
        problems.append("no Set or Code node named 'Config' holding the per-install settings")
    elif config is not None:
        for trigger in triggers:
            if "Config" not in reachable(workflow, trigger["name"]):
                problems.append(f"{trigger['name']!r} does not lead to Config")
            early = [name for name in _before(workflow, trigger["name"], "Config") if by_name[name]["type"] == HTTP]
            if early:
                problems.append(f"{', '.join(early)} run before Config (from {trigger['name']!r})")
    for trigger in triggers:
        if not children(workflow, trigger["name"]):
            problems.append(f"trigger {trigger['name']!r} is connected to nothing")
    return problems


def _before(workflow: Json, start: str, stop: str) -> list[str]:
    """Nodes reachable from `start` without passing `stop`: they run before it, or without it."""
    seen: list[str] = []
    queue = [start]
    while queue:
        for child in children(workflow, queue.pop(0)):
            if child != stop and child not in seen:
                seen.append(child)
                queue.append(child)
    return seen


def _secret_and_url_problems(workflow: Json) -> list[str]:
    problems = []
    allowed = (*SERVICE_BASE_URLS.values(), CODA_API_ROOT)
    for text in strings(workflow):
        if _TOKEN.search(text):
            problems.append(f"a bearer token in the JSON: {_TOKEN.search(text).group(0)[:12]}...")  # type: ignore[union-attr]
        for url in _URL.findall(text):
            if not url.startswith(allowed):
                problems.append(f"URL {url!r} is neither an internal service ({', '.join(allowed[:4])}) nor Coda")
    for node in workflow["nodes"]:
        for key, value in _walk(node.get("parameters", {})):
            if re.search(r"(?i)(token|secret|password|api_?key)$", key) and isinstance(value, str) and value:
                problems.append(f"{node['name']}: parameter {key!r} holds a literal secret")
    return problems


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if "name" in value and "value" in value and isinstance(value["name"], str):
            yield value["name"], value["value"]
        for child_key, child in value.items():
            yield from _walk(child, child_key)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, key)
    else:
        yield key, value


# --- expressions -----------------------------------------------------------------------------------


class UnsupportedExpressionError(ValueError):
    """An expression outside the forms `resolve` evaluates: keep workflow expressions to those."""


_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)
_PATH = r"((?:\.[A-Za-z_$][\w$]*|\[\d+\]|\['[^']*'\])*)"
_JSON_REF = re.compile(r"^\$json" + _PATH + r"$")
_NODE_REF = re.compile(r"^\$\('([^']+)'\)\.(first\(\)|last\(\)|item)\.json" + _PATH + r"$")
_CALL = re.compile(r"^(JSON\.stringify|encodeURIComponent|String)\((.*)\)$", re.S)


@dataclass
class Scope:
    """What an expression sees: the item it runs for, and other nodes' outputs by name."""

    item: Json
    outputs: Mapping[str, list[Json]]


def resolve(value: Any, scope: Scope) -> Any:
    """A node parameter as n8n evaluates it, for the forms used here: a literal, or "=" + text with
    `{{ expr }}` parts, expr being `$json.path`, `$('Node').first()|last()|item.json.path`, or
    `JSON.stringify(expr)` / `encodeURIComponent(expr)` / `String(expr)`. A lone `{{ expr }}` keeps its
    type (an array stays an array); mixed with text, parts are joined as JavaScript strings."""
    if not isinstance(value, str) or not value.startswith("="):
        return value
    template = value[1:]
    parts = _TEMPLATE.split(template)
    if len(parts) == 3 and not parts[0].strip() and not parts[2].strip():
        return _evaluate(parts[1].strip(), scope)
    out = []
    for index, part in enumerate(parts):
        out.append(_js_string(_evaluate(part.strip(), scope)) if index % 2 else part)
    return "".join(out)


def _evaluate(expression: str, scope: Scope) -> Any:
    call = _CALL.match(expression)
    if call:
        inner = _evaluate(call.group(2).strip(), scope)
        if call.group(1) == "JSON.stringify":
            return json.dumps(inner, separators=(",", ":"), ensure_ascii=False)
        if call.group(1) == "String":
            return _js_string(inner)
        from urllib.parse import quote

        return quote(_js_string(inner), safe="-_.!~*'()")
    match = _JSON_REF.match(expression)
    if match:
        return _path(scope.item, match.group(1), expression)
    match = _NODE_REF.match(expression)
    if match:
        items = scope.outputs.get(match.group(1))
        if not items:
            raise UnsupportedExpressionError(f"{expression}: no output of node {match.group(1)!r} in the trace")
        item = items[-1] if match.group(2) == "last()" else items[0]
        return _path(item, match.group(3), expression)
    raise UnsupportedExpressionError(f"{{{{ {expression} }}}} is not a form the static resolver evaluates")


def _path(value: Any, path: str, expression: str) -> Any:
    for step in re.findall(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\['([^']*)'\]", path):
        key: Any = step[0] or step[2] or int(step[1])
        if (isinstance(key, int) and isinstance(value, list) and key < len(value)) or (
            isinstance(key, str) and isinstance(value, dict) and key in value
        ):
            value = value[key]
        elif isinstance(key, str) and key == "length" and isinstance(value, list | str):
            value = len(value)
        else:
            raise UnsupportedExpressionError(f"{expression}: {key!r} is not in the sample")
    return value


def _js_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


# --- traces and HTTP calls -------------------------------------------------------------------------


def config_output(workflow: Json, upstream: list[Json] | None = None) -> list[Json]:
    """What the Set node named Config outputs: its assignments (over its input with includeOtherFields)."""
    config = nodes_by_name(workflow).get("Config")
    if config is None:
        return []
    params = config["parameters"]
    values = {a["name"]: a["value"] for a in params.get("assignments", {}).get("assignments", [])}
    base = dict(upstream[0]) if upstream and params.get("includeOtherFields") else {}
    return [base | values]


def node_items(workflow: Json, trace: Json) -> dict[str, list[Json]]:
    """Every node's output items as the trace has them (Config from the workflow's own settings)."""
    items: dict[str, list[Json]] = {}
    items.update(trace.get("outputs", {}))
    items.update(trace.get("code", {}))
    upstream = input_items(workflow, items, "Config")
    items["Config"] = config_output(workflow, upstream)
    return items


def input_items(workflow: Json, items: Mapping[str, list[Json]], name: str) -> list[Json]:
    """A node's input in the trace: the first parent with items, walking through pass-through nodes."""
    for parent_items in _parent_inputs(workflow, items, name, set()):
        if parent_items:
            return parent_items
    return []


def all_inputs(workflow: Json, items: Mapping[str, list[Json]], name: str) -> list[Json]:
    """Every parent's items (each branch that feeds the node): what an HTTP node may be sent."""
    return [item for parent_items in _parent_inputs(workflow, items, name, set()) for item in parent_items]


def _parent_inputs(workflow: Json, items: Mapping[str, list[Json]], name: str, seen: set[str]) -> Iterator[list[Json]]:
    by_name = nodes_by_name(workflow)
    for parent, _ in parents(workflow, name):
        if parent in seen:
            continue
        seen.add(parent)
        if by_name[parent]["type"] in PASS_THROUGH:
            yield from _parent_inputs(workflow, items, parent, seen)
        elif parent in items:
            yield items[parent]


@dataclass
class HttpCall:
    node: str
    method: str
    url: str
    query: list[tuple[str, Any]]
    headers: dict[str, Any]
    body: Any
    params: Json = field(repr=False, default_factory=dict)

    @property
    def target(self) -> tuple[str, str] | None:
        return http_target(self.url)


def http_calls(workflow: Json, trace: Json) -> tuple[list[HttpCall], list[str]]:
    """Each HTTP Request node's calls for the trace's items; and the nodes that could not be evaluated."""
    items = node_items(workflow, trace)
    calls, problems = [], []
    for node in workflow["nodes"]:
        if node["type"] != HTTP:
            continue
        inputs = all_inputs(workflow, items, node["name"])
        if not inputs:
            problems.append(f"{node['name']}: no input items in the trace (testdata) to evaluate it with")
            continue
        for item in inputs:
            try:
                calls.append(_call(node, Scope(item, items)))
            except (UnsupportedExpressionError, ValueError) as exc:
                problems.append(f"{node['name']}: {exc}")
    return calls, problems


def _call(node: Json, scope: Scope) -> HttpCall:
    params = node["parameters"]
    url = resolve(params.get("url", ""), scope)
    query_parameters = (params.get("queryParameters") or {}).get("parameters", []) * bool(params.get("sendQuery"))
    header_parameters = (params.get("headerParameters") or {}).get("parameters", []) * bool(params.get("sendHeaders"))
    query = [(p["name"], resolve(p.get("value", ""), scope)) for p in query_parameters]
    headers = {p["name"]: resolve(p.get("value", ""), scope) for p in header_parameters}
    body: Any = None
    if params.get("sendBody"):
        if params.get("specifyBody") != "json":
            raise ValueError("bodies are sent as JSON (specifyBody 'json')")
        raw = resolve(params.get("jsonBody", ""), scope)
        try:
            body = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            raise ValueError(f"the JSON body is not JSON: {exc}") from None
    return HttpCall(node["name"], str(params.get("method", "GET")).upper(), str(url), query, headers, body, params)


# --- the services' OpenAPI -------------------------------------------------------------------------


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation: Json
    body_model: Any
    response_model: Any
    query_fields: dict[str, Any]


@cache
def service_routes() -> dict[str, list[Route]]:
    """Each service's routes: its app built with `create_app(Settings())` (no server, no connection)."""
    from fastapi import routing
    from fastapi.openapi.utils import _get_api_route_for_openapi

    import memory_gateway.main
    import memory_gateway.settings
    import observer_agent.main
    import observer_agent.settings
    import planner_engine.main
    import planner_engine.settings
    import scheduler_engine.main
    import scheduler_engine.settings

    apps = {
        "memory-gateway": memory_gateway.main.create_app(memory_gateway.settings.Settings()),
        "planner-engine": planner_engine.main.create_app(planner_engine.settings.Settings()),
        "scheduler-engine": scheduler_engine.main.create_app(scheduler_engine.settings.Settings()),
        "observer-agent": observer_agent.main.create_app(observer_agent.settings.Settings()),
    }
    routes: dict[str, list[Route]] = {}
    for service, app in apps.items():
        spec = app.openapi()
        found = []
        for context in routing.iter_route_contexts(app.routes):
            route = _get_api_route_for_openapi(context)
            if route is None:
                continue
            for method in route.methods or ():
                operation = spec["paths"].get(route.path, {}).get(method.lower())
                if operation is None:
                    continue
                body = route.body_field.field_info.annotation if route.body_field is not None else None
                pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route.path)) + "$")
                query = {f.alias: f for f in route.dependant.query_params}
                found.append(Route(method, route.path, pattern, operation, body, route.response_model, query))
        routes[service] = found
    return routes


def find_route(service: str, method: str, path: str) -> tuple[Route | None, list[str]]:
    """The route for a call; else None and the methods the path has (empty for an unknown path)."""
    matches = [route for route in service_routes()[service] if route.pattern.match(path)]
    # A literal path beats a template (`/v1/tasks/import` over `/v1/tasks/{task_id}`).
    matches.sort(key=lambda route: route.template.count("{"))
    for route in matches:
        if route.method == method:
            return route, []
    return None, sorted({route.method for route in matches})


def service_call_problems(call: HttpCall) -> list[str]:
    """The call against its service's OpenAPI: route, method, path, query and header parameters, body."""
    from pydantic import TypeAdapter, ValidationError

    target = call.target
    if target is None or target[0] == "coda":
        return [f"{call.node}: {call.url} is not a service URL"]
    service, path = target
    route, methods = find_route(service, call.method, path)
    if route is None:
        if methods:
            return [f"{call.node}: {service} has {path} only for {', '.join(methods)}, not {call.method}"]
        return [f"{call.node}: {service} has no route {call.method} {path}"]
    problems = []
    operation = route.operation
    declared = {p["name"]: p for p in operation.get("parameters", [])}
    for name, parameter in declared.items():
        if parameter["in"] == "path":
            problems += _path_parameter_problems(call, route, path, name, parameter)
    sent = dict(call.query)
    for name, value in call.query:
        parameter = declared.get(name)
        if parameter is None or parameter["in"] != "query":
            problems.append(f"{call.node}: {call.method} {route.template} has no query parameter {name!r}")
            continue
        model_field = route.query_fields.get(name)
        if model_field is not None:
            try:
                TypeAdapter(Annotated[model_field.field_info.annotation, model_field.field_info]).validate_python(
                    value if not isinstance(value, int | float) else str(value), strict=False
                )
            except ValidationError as exc:
                problems.append(f"{call.node}: query {name}={value!r}: {_errors(exc)}")
    for name, parameter in declared.items():
        if parameter["in"] == "query" and parameter.get("required") and name not in sent:
            problems.append(f"{call.node}: {call.method} {route.template} needs the query parameter {name!r}")
    headers = {name.lower(): name for name, parameter in declared.items() if parameter["in"] == "header"}
    for name in call.headers:
        if name.lower() not in headers:
            problems.append(f"{call.node}: {call.method} {route.template} takes no header {name!r}")
    keyed = "idempotency-key" in {name.lower() for name in call.headers}
    if call.method == "POST" and (service, route.template) not in IDEMPOTENT_WITHOUT_KEY and not keyed:
        problems.append(f"{call.node}: a retried POST {route.template} needs an Idempotency-Key header")
    if route.body_model is None:
        if call.body is not None:
            problems.append(f"{call.node}: {call.method} {route.template} takes no body")
    elif call.body is None:
        if operation.get("requestBody", {}).get("required"):
            problems.append(f"{call.node}: {call.method} {route.template} needs a body")
    else:
        try:
            TypeAdapter(route.body_model).validate_json(json.dumps(call.body))
        except ValidationError as exc:
            name = getattr(route.body_model, "__name__", str(route.body_model))
            problems.append(f"{call.node}: the body is not a valid {name}: {_errors(exc)}")
        key = call.headers.get("Idempotency-Key")
        if isinstance(call.body, dict) and key is not None and call.body.get("idempotency_key") not in (None, key):
            problems.append(f"{call.node}: the Idempotency-Key header and the body's idempotency_key differ")
    return problems


def _path_parameter_problems(call: HttpCall, route: Route, path: str, name: str, parameter: Json) -> list[str]:
    names = re.findall(r"\{([^}]+)\}", route.template)
    segments = re.match("^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(route.template)) + "$", path)
    if segments is None or name not in names:
        return []
    value = segments.group(names.index(name) + 1)
    if parameter.get("schema", {}).get("format") == "uuid":
        try:
            UUID(value)
        except ValueError:
            return [f"{call.node}: path parameter {name}={value!r} is not a UUID"]
    return []


def response_problems(workflow: Json, trace: Json) -> list[str]:
    """The trace's answers of the services validated by each route's response model: the fields the
    Code nodes read are the fields the services send."""
    from pydantic import TypeAdapter, ValidationError

    problems = []
    calls, _ = http_calls(workflow, trace)
    seen = set()
    for call in calls:
        if call.node in seen or call.target is None or call.target[0] == "coda":
            continue
        seen.add(call.node)
        route, _ = find_route(call.target[0], call.method, call.target[1])
        if route is None or route.response_model is None:
            continue
        for answer in trace.get("outputs", {}).get(call.node, []):
            try:
                TypeAdapter(route.response_model).validate_python(answer)
            except ValidationError as exc:
                problems.append(f"{call.node}: the recorded answer is not a {route.response_model}: {_errors(exc)}")
    return problems


def _errors(exc: Any) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


# --- Coda ------------------------------------------------------------------------------------------

_CODA_ROWS = re.compile(r"^/docs/[^/]+/tables/[^/]+/rows$")
_CODA_ROW = re.compile(r"^/docs/[^/]+/tables/[^/]+/rows/[^/]+$")
CODA_LIST_QUERY = {"query", "sortBy", "useColumnNames", "valueFormat", "visibleOnly", "limit", "pageToken", "syncToken"}


def coda_call_problems(call: HttpCall) -> list[str]:
    """A call against Coda API v1: listRows (GET .../rows) or updateRow (PUT .../rows/{row}), nothing else."""
    target = call.target
    if target is None or target[0] != "coda":
        return [f"{call.node}: {call.url} is not Coda's API"]
    path = target[1]
    problems = []
    if call.method == "GET" and _CODA_ROWS.match(path):
        for name, _ in call.query:
            if name not in CODA_LIST_QUERY:
                problems.append(f"{call.node}: listRows takes no query parameter {name!r}")
        query = dict(call.query)
        if "query" in query and _coda_query_value(str(query["query"])) is None:
            problems.append(f'{call.node}: query {query["query"]!r} is not <column id or "name">:<JSON value>')
        if query.get("valueFormat", "simple") not in ("simple", "simpleWithArrays", "rich"):
            problems.append(f"{call.node}: valueFormat {query['valueFormat']!r}")
        if "limit" in query and not (str(query["limit"]).isdigit() and 1 <= int(query["limit"]) <= 500):
            problems.append(f"{call.node}: limit {query['limit']!r} is not 1..500")
        if call.body is not None:
            problems.append(f"{call.node}: listRows takes no body")
    elif call.method == "PUT" and _CODA_ROW.match(path):
        problems += _coda_update_problems(call)
    else:
        problems.append(f"{call.node}: Coda has no {call.method} {path} among the calls used here")
    return problems


def _coda_query_value(query: str) -> tuple[str, Any] | None:
    """Coda's `query=` as (column, value): `c-id:<JSON>` or `"Column name":<JSON>`; None when malformed."""
    try:
        if query.startswith('"'):
            column, end = json.JSONDecoder().raw_decode(query)
            rest = query[end:]
        else:
            column, colon, value = query.partition(":")
            rest = colon + value
            if not re.fullmatch(r"c-[\w-]+", column):
                return None
        if not rest.startswith(":"):
            return None
        return column, json.loads(rest[1:])
    except ValueError:
        return None


def _coda_update_problems(call: HttpCall) -> list[str]:
    body = call.body
    row = body.get("row") if isinstance(body, dict) else None
    if not isinstance(row, dict) or set(body) != {"row"} or set(row) != {"cells"}:
        return [f'{call.node}: updateRow\'s body is {{"row": {{"cells": [...]}}}}, not {body!r}']
    cells = row["cells"]
    if not isinstance(cells, list) or not cells:
        return [f"{call.node}: updateRow needs at least one cell"]
    problems = []
    for cell in cells:
        if not isinstance(cell, dict) or set(cell) != {"column", "value"} or not str(cell.get("column") or ""):
            problems.append(f"{call.node}: a cell is {{column, value}} with a column: {cell!r}")
        elif not isinstance(cell["value"], str | int | float | bool | list) and cell["value"] is not None:
            problems.append(f"{call.node}: cell {cell['column']!r} has a value Coda cannot take: {cell['value']!r}")
    size = sum(len(str(c.get("value", "")).encode()) + str(c.get("value", "")).count("\n") for c in cells)
    if size > 85 * 1024:
        problems.append(f"{call.node}: a row edit of {size} bytes (Coda takes 85 KB)")
    batch = ((call.params.get("options") or {}).get("batching") or {}).get("batch") or {}
    if batch.get("batchSize") != 1 or int(batch.get("batchInterval") or 0) < CODA_MIN_WRITE_INTERVAL_MS:
        problems.append(
            f"{call.node}: Coda writes must be batched 1 at a time, {CODA_MIN_WRITE_INTERVAL_MS} ms apart or more"
            f" (options.batching.batch), not {batch!r}"
        )
    return problems


# --- Code nodes in Node.js -------------------------------------------------------------------------

_HARNESS = r"""
const vm = require('vm');
const jobs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const results = [];
  for (const job of jobs) {
    const NOW = Date.parse(job.now);
    const HostDate = Date;
    class FixedDate extends HostDate {
      constructor(...args) { if (args.length === 0) super(NOW); else super(...args); }
      static now() { return NOW; }
    }
    const wrap = (items) => ({
      all: () => items.map((json) => ({ json })),
      first: () => ({ json: items[0] }),
      last: () => ({ json: items[items.length - 1] }),
      item: { json: items[0] },
    });
    const staticData = JSON.parse(JSON.stringify(job.static || {}));
    const context = vm.createContext({
      $input: wrap(job.input),
      $json: job.input[0],
      $: (name) => {
        if (!(name in job.nodes)) throw new Error(`$('${name}'): no output of that node in the trace`);
        return wrap(job.nodes[name]);
      },
      $getWorkflowStaticData: () => staticData,
      $execution: { id: job.execution_id, mode: 'cli' },
      $runIndex: 0,
      Date: FixedDate,
      console: { log() {}, warn() {}, error() {} },
    });
    try {
      const out = await vm.runInContext(`(async () => {\n${job.code}\n})()`, context, { timeout: 5000 });
      const items = (out || []).map((i) => (i && i.json !== undefined ? i.json : i));
      results.push({ items: JSON.parse(JSON.stringify(items)), static: staticData });
    } catch (error) {
      results.push({ error: String((error && error.stack) || error) });
    }
  }
  process.stdout.write(JSON.stringify(results));
})();
"""


def node_binary() -> str | None:
    return shutil.which("node")


@dataclass
class CodeJob:
    workflow: str
    node: str
    code: str
    input: list[Json]
    nodes: dict[str, list[Json]]
    static: Json
    now: str
    execution_id: str


def code_jobs(stem: str, workflow: Json, trace: Json) -> list[CodeJob]:
    """Each Code node of the workflow with its input and the other nodes' outputs from the trace."""
    items = node_items(workflow, trace)
    jobs = []
    by_name = nodes_by_name(workflow)
    for name in _evaluation_order(workflow):
        node = by_name[name]
        if node["type"] != CODE:
            continue
        inputs = input_items(workflow, items, name)
        if not inputs:
            continue
        jobs.append(CodeJob(stem, name, node["parameters"]["jsCode"], inputs, items, trace.get("static", {}),
                            trace["now"], str(trace.get("execution_id", "1"))))  # fmt: skip
    return jobs


def _evaluation_order(workflow: Json) -> list[str]:
    order: list[str] = []
    for node in workflow["nodes"]:
        if node["type"] == "n8n-nodes-base.manualTrigger":
            order += [name for name in reachable(workflow, node["name"]) if name not in order]
    return order


def run_code(jobs: list[CodeJob]) -> list[Json]:
    """Run the jobs in one Node.js process; each result is {"items", "static"} or {"error"}."""
    node = node_binary()
    if node is None:
        raise RuntimeError("node is not on PATH")
    payload = [
        {"code": j.code, "input": j.input, "nodes": j.nodes, "static": j.static, "now": j.now,
         "execution_id": j.execution_id}
        for j in jobs
    ]  # fmt: skip
    done = subprocess.run([node, "-e", _HARNESS], input=json.dumps(payload), capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    results: list[Json] = json.loads(done.stdout)
    return results


def recompute(stem: str, workflow: Json, trace: Json) -> Json:
    """The trace with every Code node's output computed anew, in evaluation order (a node's output
    feeds the Code nodes after it)."""
    trace = copy.deepcopy(trace)
    trace["code"] = {}
    by_name = nodes_by_name(workflow)
    for name in _evaluation_order(workflow):
        if by_name[name]["type"] != CODE:
            continue
        jobs = [job for job in code_jobs(stem, workflow, trace) if job.node == name]
        if not jobs:
            continue
        result = run_code(jobs)[0]
        if "error" in result:
            if "no output of that node" in result["error"] or "Cannot read properties of undefined" in result["error"]:
                continue  # a branch the recorded run did not take, fed by a node that did not run
            raise RuntimeError(f"{stem}/{name}: {result['error']}")
        trace["code"][name] = result["items"]
        if result["static"] != trace.get("static", {}):
            trace.setdefault("static_after", {})[name] = result["static"]
    return trace


def trace_from_run(stem: str, run: Json) -> Json:
    """A trace from `n8n execute --rawOutput`: the outputs of every node that is neither Code nor Set
    (HTTP answers, triggers), then the Code nodes' outputs recomputed over them."""
    workflow = load_workflows()[stem]
    by_name = nodes_by_name(workflow)
    outputs = {}
    for name, runs in run["data"]["resultData"]["runData"].items():
        node = by_name.get(name)
        if node is None or node["type"] in (CODE, SET) or node["type"] in PASS_THROUGH or not runs:
            continue
        main = (runs[-1].get("data") or {}).get("main") or [[]]
        outputs[name] = [item["json"] for item in (main[0] or [])]
    trace = {"workflow": stem, "recorded_from": "n8n execute", "now": run.get("startedAt"), "execution_id": "1",
             "static": {}, "outputs": outputs}  # fmt: skip
    return recompute(stem, workflow, trace)


def main() -> int:
    if "--recompute" not in sys.argv[1:]:
        print(__doc__)
        return 2
    for stem, workflow in load_workflows().items():
        path = TESTDATA_DIR / f"{stem}.json"
        if path.exists():
            write_trace(stem, recompute(stem, workflow, load_trace(stem)))
            print(f"recomputed {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
