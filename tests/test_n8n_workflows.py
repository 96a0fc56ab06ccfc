"""The n8n workflows of n8n-workflows/, checked without n8n: shape, node versions, credentials, URLs, and
every HTTP call against the services' OpenAPI (or Coda's API) with its body evaluated over a recorded trace.

`make test-n8n` (tests/n8n/run_n8n.py) runs them in a real n8n; these checks are what `make test` can
afford. Each check is also shown to fail on a broken copy of a workflow.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from n8n_workflows import (
    CODA_MIN_WRITE_INTERVAL_MS,
    HTTP,
    N8N_NODES_BASE,
    NODE_TYPES,
    CodeJob,
    Scope,
    UnsupportedExpressionError,
    coda_call_problems,
    code_jobs,
    find_route,
    http_calls,
    load_trace,
    load_workflows,
    node_binary,
    nodes_by_name,
    resolve,
    response_problems,
    run_code,
    service_call_problems,
    structure_problems,
)

STEMS = ("coda-to-calendar", "calendar-to-coda", "event-logging", "observer-daily", "observer-weekly")
WORKFLOWS = load_workflows()
needs_node = pytest.mark.skipif(node_binary() is None, reason="node (Node.js) is not on PATH")

Json = dict[str, Any]


def _calls_problems(workflow: Json, trace: Json) -> list[str]:
    calls, problems = http_calls(workflow, trace)
    for call in calls:
        target = call.target
        if target is None:
            problems.append(f"{call.node}: {call.url} is neither a service nor Coda")
        elif target[0] == "coda":
            problems += coda_call_problems(call)
        else:
            problems += service_call_problems(call)
    called = {call.node for call in calls}
    http_nodes = [node["name"] for node in workflow["nodes"] if node["type"] == HTTP]
    problems += [f"{name}: never evaluated" for name in http_nodes if name not in called]
    return problems


def _node(workflow: Json, name: str) -> Json:
    return nodes_by_name(workflow)[name]


def _broken(stem: str) -> tuple[Json, Json]:
    return copy.deepcopy(WORKFLOWS[stem]), copy.deepcopy(load_trace(stem))


# --- every workflow --------------------------------------------------------------------------------


def test_the_five_workflows_are_there_one_per_file() -> None:
    assert sorted(WORKFLOWS) == sorted(STEMS)
    assert len({w["id"] for w in WORKFLOWS.values()}) == len(STEMS)


@pytest.mark.parametrize("stem", STEMS)
def test_the_json_is_what_n8n_2_8_imports_and_runs(stem: str) -> None:
    assert structure_problems(WORKFLOWS[stem]) == []


@pytest.mark.parametrize("stem", STEMS)
def test_every_http_call_exists_in_the_api_it_calls_and_its_body_validates(stem: str) -> None:
    assert _calls_problems(WORKFLOWS[stem], load_trace(stem)) == []


@pytest.mark.parametrize("stem", STEMS)
def test_the_recorded_answers_are_what_the_services_send(stem: str) -> None:
    assert response_problems(WORKFLOWS[stem], load_trace(stem)) == []


@needs_node
@pytest.mark.parametrize("stem", STEMS)
def test_each_code_node_produces_its_recorded_output(stem: str) -> None:
    workflow, trace = WORKFLOWS[stem], load_trace(stem)
    jobs = code_jobs(stem, workflow, trace)
    recorded = {job.node: trace["code"].get(job.node) for job in jobs}
    results = run_code(jobs)
    for job, result in zip(jobs, results, strict=True):
        if recorded[job.node] is None:
            continue  # a branch the recorded execution did not take (its input came from another branch)
        assert "error" not in result, (job.node, result.get("error"))
        assert result["items"] == recorded[job.node], job.node
    assert any(recorded.values())


def test_the_schedules_are_the_issues() -> None:
    def rule(stem: str) -> Json:
        trigger = next(n for n in WORKFLOWS[stem]["nodes"] if n["type"] == "n8n-nodes-base.scheduleTrigger")
        interval: Json = trigger["parameters"]["rule"]["interval"][0]
        return interval

    assert rule("coda-to-calendar") == {"field": "minutes", "minutesInterval": 15}
    assert rule("calendar-to-coda") == {"field": "cronExpression", "expression": "7,22,37,52 * * * *"}
    assert rule("observer-daily") == {"field": "cronExpression", "expression": "30 21 * * *"}
    assert rule("observer-weekly") == {"field": "cronExpression", "expression": "0 20 * * 0"}
    webhook = _node(WORKFLOWS["event-logging"], "Webhook")["parameters"]
    assert (webhook["httpMethod"], webhook["path"], webhook["responseMode"]) == ("POST", "pma-events", "responseNode")


def test_the_observer_triggers_send_what_the_issue_asks() -> None:
    daily, _ = http_calls(WORKFLOWS["observer-daily"], load_trace("observer-daily"))
    weekly, _ = http_calls(WORKFLOWS["observer-weekly"], load_trace("observer-weekly"))
    assert [(c.method, c.target, c.body) for c in daily] == [
        ("POST", ("observer-agent", "/v1/reflections/daily"), {"default_day": "today"})
    ]
    assert [(c.method, c.target, c.body) for c in weekly] == [
        ("POST", ("observer-agent", "/v1/reflections/weekly"), {})
    ]
    route, _ = find_route("observer-agent", "POST", "/v1/reflections/daily")
    assert route is not None
    assert "default_day" in route.body_model.model_fields


def test_coda_writes_of_both_sync_workflows_leave_the_observer_half_of_codas_budget() -> None:
    """Coda allows about 10 writes per 6 s per token: the two sync workflows may run at once and write at
    most 2.4 each (one write per 2.5 s), 4.8 together; the observer, at CODA_WRITE_LIMIT=5, the rest."""
    per_window = 0.0
    for workflow in WORKFLOWS.values():
        for node in workflow["nodes"]:
            if (
                node["type"] == HTTP
                and node["parameters"]["method"] in ("PUT", "POST")
                and "coda" in json.dumps(node["credentials"]).lower()
            ):
                batch = node["parameters"]["options"]["batching"]["batch"]
                per_window += 6000 / batch["batchInterval"] * batch["batchSize"]
    assert 0 < per_window <= 5


def test_the_cursor_is_saved_only_after_the_writes() -> None:
    """n8n's v1 order runs a node's branches top to bottom: Save cursor must be the lowest one, so it runs
    only when the Coda updates and executions above it succeeded."""
    assert _save_cursor_problems(WORKFLOWS["calendar-to-coda"]) == []
    broken = copy.deepcopy(WORKFLOWS["calendar-to-coda"])
    _node(broken, "Save cursor")["position"][1] = -500
    assert _save_cursor_problems(broken) == ["Save cursor is not the last branch of Read tasks"]


def _save_cursor_problems(workflow: Json) -> list[str]:
    from n8n_workflows import children

    branches = sorted(children(workflow, "Read tasks"), key=lambda name: tuple(_node(workflow, name)["position"][::-1]))
    return [] if branches[-1] == "Save cursor" else ["Save cursor is not the last branch of Read tasks"]


# --- the event-logging Code node -------------------------------------------------------------------


def _validate(body: Any, headers: Json | None = None) -> Json:
    workflow = WORKFLOWS["event-logging"]
    config = {"memory_url": "http://memory-gateway:8000", "default_source": "n8n"}
    item = {"body": body, "headers": headers or {}} | config
    job = CodeJob("event-logging", "Validate event", _node(workflow, "Validate event")["parameters"]["jsCode"],
                  [item], {"Config": [item]}, {}, "2026-12-01T10:00:00Z", "1")  # fmt: skip
    result = run_code([job])[0]
    assert "error" not in result, result
    answer: Json = result["items"][0]
    return answer


@needs_node
def test_a_body_without_a_key_gets_the_sha256_of_its_fields() -> None:
    body = {"user_id": "ada", "event_type": "task.done", "summary": "Bought groceries ünd Brot",
            "payload": {"b": 1, "a": [2]}}  # fmt: skip
    answer = _validate(body)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert answer["idempotency_key"] == "n8n:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert answer["event"] == body | {"idempotency_key": answer["idempotency_key"], "source": "n8n"}
    assert _validate(dict(reversed(list(body.items()))))["idempotency_key"] == answer["idempotency_key"]
    assert _validate(body, {"idempotency-key": "run-41"})["idempotency_key"] == "run-41"


@needs_node
def test_a_bad_body_is_refused_with_each_reason_in_words() -> None:
    answer = _validate({"user_id": "ada b", "event_type": "Task Done", "payload": [], "colour": "red",
                        "occurred_at": "2026-12-01T12:00:00Z", "subject": "x" * 1001})  # fmt: skip
    assert answer["valid"] is False
    assert answer["status"] == 400
    message = answer["response"]["error"]["message"]
    assert answer["response"]["error"]["code"] == "validation_error"
    for words in ('unknown field "colour"', "user_id may hold only", "event_type must be lowercase",
                  "summary is required", "subject has 1001 characters", "payload must be a JSON object",
                  "occurred_at is more than 5 minutes in the future"):  # fmt: skip
        assert words in message
    assert _validate(["not", "an", "object"])["response"]["error"]["message"] == (
        "invalid event: the body must be a JSON object"
    )
    clash = _validate({"user_id": "ada", "event_type": "a", "summary": "s", "idempotency_key": "k1"},
                      {"idempotency-key": "k2"})  # fmt: skip
    assert "differ" in clash["response"]["error"]["message"]
    nul = _validate({"user_id": "ada", "event_type": "a", "summary": "s", "payload": {"x": "a\u0000b"}})
    assert "NUL" in nul["response"]["error"]["message"]


# --- the allow-list --------------------------------------------------------------------------------

_VERSIONS_SCRIPT = r"""
const path = require('path');
const base = process.argv[1];
const pkg = require(path.join(base, 'package.json'));
const out = {};
for (const file of pkg.n8n.nodes) {
  const name = path.basename(file).replace('.node.js', '');
  const wanted = JSON.parse(process.argv[2]);
  if (!wanted.includes(name)) continue;
  const Cls = require(path.join(base, file))[name];
  const node = new Cls();
  const d = node.description;
  out['n8n-nodes-base.' + d.name] = node.nodeVersions ? Object.keys(node.nodeVersions).map(Number)
    : (Array.isArray(d.version) ? d.version : [d.version]);
}
process.stdout.write(JSON.stringify({version: pkg.version, nodes: out}));
"""


@needs_node
@pytest.mark.skipif(not N8N_NODES_BASE.exists(), reason="n8n is not installed in .tools/n8n (make test-n8n does)")
def test_the_allow_list_matches_the_installed_n8n() -> None:
    import subprocess

    classes = [t.split(".", 1)[1][0].upper() + t.split(".", 1)[1][1:] for t in NODE_TYPES]
    classes = [{"If": "If", "NoOp": "NoOp"}.get(c, c) for c in classes]
    done = subprocess.run([str(node_binary()), "-e", _VERSIONS_SCRIPT, str(N8N_NODES_BASE), json.dumps(classes)],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    installed = json.loads(done.stdout)
    assert installed["version"].startswith("2.8.")  # n8n 2.8.4 pins n8n-nodes-base 2.8.x
    assert {t: frozenset(v) for t, v in installed["nodes"].items()} == NODE_TYPES


# --- each check can fail ---------------------------------------------------------------------------


def _drop_node(workflow: Json, name: str) -> None:
    workflow["nodes"].remove(_node(workflow, name))
    workflow["connections"].pop(name, None)


def _rename(workflow: Json, old: str, new: str) -> None:
    text = json.dumps(workflow).replace(f'"{old}"', f'"{new}"')
    workflow.clear()
    workflow.update(json.loads(text))


def _first_http(workflow: Json, host: str = "planner") -> Json:
    return next(n for n in workflow["nodes"] if n["type"] == HTTP and host in n["parameters"]["url"])


@pytest.mark.parametrize(
    ("break_it", "reported"),
    [
        (lambda w: w.pop("settings"), "no 'settings'"),
        (lambda w: w.update(id="x" * 22), "workflow id"),
        (lambda w: w["settings"].update(executionOrder="v0"), "executionOrder"),
        (lambda w: w["nodes"][3].update(id="n" * 22), "must be 1 to 21 characters"),
        (lambda w: w["nodes"][4].update(name=w["nodes"][3]["name"]), "is used twice"),
        (lambda w: w["nodes"][4].update(id=w["nodes"][3]["id"]), "is used twice"),
        (
            lambda w: w["connections"]["Config"]["main"][0].append({"node": "Nowhere", "type": "main", "index": 0}),
            "which is no node",
        ),
        (lambda w: _first_http(w).update(typeVersion=4.9), "has no version 4.9"),
        (lambda w: _first_http(w).update(type="n8n-nodes-base.httpRequestX"), "not in the allow-list"),
        (lambda w: _drop_node(w, "Run by hand"), "no Manual Trigger"),
        (lambda w: _first_http(w)["credentials"]["httpBearerAuth"].update(name="My token"), "credential"),
        (lambda w: _first_http(w)["credentials"]["httpBearerAuth"].update(id="abc123"), "credential"),
        (lambda w: _first_http(w)["parameters"].update(authentication="none"), "authentication must be"),
        (
            lambda w: _first_http(w)["parameters"].update(
                sendHeaders=True,
                headerParameters={"parameters": [{"name": "Authorization", "value": "Bearer s3cr3t-t0ken-value"}]},
            ),
            "bearer token in the JSON",
        ),
        (
            lambda w: _first_http(w)["parameters"].update(url="http://localhost:8102/v1/tasks/import"),
            "is neither an internal service",
        ),
        (
            lambda w: _node(w, "Config")["parameters"]["assignments"]["assignments"].append(
                {"id": "x", "name": "planner_url", "value": "https://planner.example.com", "type": "string"}
            ),
            "is neither an internal service",
        ),
        (lambda w: _first_http(w).pop("retryOnFail"), "retryOnFail"),
        (lambda w: _rename(w, "Config", "Settings"), "named 'Config'"),
    ],
)
def test_the_structure_check_reports_a_broken_copy(break_it: Any, reported: str) -> None:
    workflow = copy.deepcopy(WORKFLOWS["coda-to-calendar"])
    assert structure_problems(workflow) == []
    break_it(workflow)
    problems = structure_problems(workflow)
    assert any(reported in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("break_it", "reported"),
    [
        (lambda hook: hook["parameters"].pop("authentication"), "without header auth"),
        (lambda hook: hook["credentials"]["httpHeaderAuth"].update(name="PMA API token"), "credential"),
        (lambda hook: hook.update(credentials={"httpBearerAuth": {"id": "pmaApiToken", "name": "PMA API token"}}),
         "credential"),
    ],
)  # fmt: skip
def test_the_webhook_asks_its_callers_for_a_token_of_its_own(break_it: Any, reported: str) -> None:
    workflow = copy.deepcopy(WORKFLOWS["event-logging"])
    assert structure_problems(workflow) == []
    break_it(_node(workflow, "Webhook"))
    problems = structure_problems(workflow)
    assert any(reported in problem for problem in problems), problems


def test_the_structure_check_reports_an_http_call_before_config() -> None:
    workflow = copy.deepcopy(WORKFLOWS["observer-daily"])
    workflow["connections"]["Run by hand"]["main"][0].append(
        {"node": "Trigger reflections", "type": "main", "index": 0}
    )
    assert any("run before Config" in p for p in structure_problems(workflow))


@pytest.mark.parametrize(
    ("stem", "node", "change", "reported"),
    [
        (
            "coda-to-calendar",
            "Import tasks",
            {"url": "={{ $('Config').first().json.planner_url }}/v1/task/import"},
            "has no route PUT /v1/task/import",
        ),
        ("coda-to-calendar", "Import tasks", {"method": "POST"}, "/v1/tasks/import only for PUT, not POST"),
        (
            "coda-to-calendar",
            "Read run",
            {"queryParameters": {"parameters": [{"name": "user", "value": "me"}]}},
            "has no query parameter 'user'",
        ),
        ("coda-to-calendar", "Read run", {"sendQuery": False}, "needs the query parameter 'user_id'"),
        (
            "coda-to-calendar",
            "Read run",
            {"url": "={{ $('Config').first().json.scheduler_url }}/v1/runs/run-1"},
            "is not a UUID",
        ),
        ("coda-to-calendar", "Schedule run", {"sendHeaders": False}, "needs an Idempotency-Key header"),
        (
            "coda-to-calendar",
            "Schedule run",
            {"headerParameters": {"parameters": [{"name": "X-Key", "value": "k"}]}},
            "takes no header 'X-Key'",
        ),
        ("coda-to-calendar", "Schedule run", {"jsonBody": '={"user_id": '}, "the JSON body is not JSON"),
        (
            "calendar-to-coda",
            "Read changes",
            {
                "queryParameters": {
                    "parameters": [{"name": "user_id", "value": "me"}, {"name": "limit", "value": "5000"}]
                }
            },
            "query limit='5000'",
        ),
        (
            "calendar-to-coda",
            "Record execution",
            {"jsonBody": "={{ JSON.stringify($json.missing) }}"},
            "'missing' is not in the sample",
        ),
        (
            "calendar-to-coda",
            "Read tasks",
            {"url": "={{ $('Config').first().json.planner_url.toUpperCase() }}/v1/tasks"},
            "not a form the static resolver evaluates",
        ),
        (
            "observer-daily",
            "Trigger reflections",
            {"jsonBody": '{"default_day": "tomorrow"}'},
            "not a valid DailyTrigger",
        ),
        ("observer-weekly", "Trigger reflections", {"jsonBody": '{"week": "2025-W53"}'}, "not a valid WeeklyTrigger"),
        ("event-logging", "Log event", {"jsonBody": "={{ JSON.stringify($json) }}"}, "not a valid EventCreate"),
        ("coda-to-calendar", "Update Coda rows", {"options": {}}, "must be batched 1 at a time"),
        (
            "coda-to-calendar",
            "Update Coda rows",
            {"options": {"batching": {"batch": {"batchSize": 5, "batchInterval": 2500}}}},
            "must be batched 1 at a time",
        ),
        (
            "coda-to-calendar",
            "Update Coda rows",
            {"jsonBody": "={{ JSON.stringify($json.body.row) }}"},
            "updateRow's body is",
        ),
        ("coda-to-calendar", "Update Coda rows", {"method": "POST"}, "Coda has no POST"),
        (
            "coda-to-calendar",
            "Read Ready rows",
            {"queryParameters": {"parameters": [{"name": "query", "value": "Status:Ready"}]}},
            "is not <column id or",
        ),
        (
            "coda-to-calendar",
            "Read Ready rows",
            {"queryParameters": {"parameters": [{"name": "columns", "value": "x"}]}},
            "listRows takes no query parameter 'columns'",
        ),
    ],
)
def test_the_call_check_reports_a_broken_copy(stem: str, node: str, change: Json, reported: str) -> None:
    workflow, trace = _broken(stem)
    assert _calls_problems(workflow, trace) == []
    _node(workflow, node)["parameters"].update(change)
    problems = _calls_problems(workflow, trace)
    assert any(reported in problem for problem in problems), problems


def test_the_call_check_reports_a_body_that_a_code_node_builds_wrong() -> None:
    workflow, trace = _broken("coda-to-calendar")
    trace["code"]["Build import"][0]["body"]["tasks"][0]["estimate_minutes"] = 0
    problems = _calls_problems(workflow, trace)
    assert any("not a valid TaskImport" in p and "estimate_minutes" in p for p in problems), problems
    workflow, trace = _broken("calendar-to-coda")
    trace["code"]["Done blocks"][0]["body"]["status"] = "finished"
    assert any("not a valid ExecutionCreate" in p for p in _calls_problems(workflow, trace))


def test_the_call_check_reports_a_node_without_a_sample() -> None:
    workflow, trace = _broken("calendar-to-coda")
    del trace["code"]["Pick changes"]
    assert any("Read tasks: no input items" in p for p in _calls_problems(workflow, trace))


def test_the_response_check_reports_an_answer_the_service_does_not_send() -> None:
    workflow, trace = _broken("coda-to-calendar")
    del trace["outputs"]["Schedule run"][0]["run_id"]
    assert any("Schedule run" in p and "run_id" in p for p in response_problems(workflow, trace))


@needs_node
def test_the_code_check_reports_a_code_node_that_no_longer_gives_its_recorded_output() -> None:
    workflow, trace = _broken("calendar-to-coda")
    code = _node(workflow, "Done blocks")["parameters"]
    code["jsCode"] = code["jsCode"].replace("status: 'succeeded'", "status: 'failed'")
    job = next(j for j in code_jobs("calendar-to-coda", workflow, trace) if j.node == "Done blocks")
    assert run_code([job])[0]["items"] != trace["code"]["Done blocks"]


def test_the_resolver_keeps_types_and_joins_text() -> None:
    scope = Scope(
        {"ids": ["a", "b"], "n": 3, "row": {"id": "i-1"}}, {"Config": [{"base": "http://planner-engine:8000"}]}
    )
    assert resolve("={{ $json.ids }}", scope) == ["a", "b"]
    assert resolve("={{ $('Config').first().json.base }}/v1/{{ $json.row.id }}", scope) == (
        "http://planner-engine:8000/v1/i-1"
    )
    assert resolve("={{ JSON.stringify($json.ids) }}", scope) == '["a","b"]'
    assert resolve("={{ $json.ids.length }}", scope) == 2
    assert resolve("plain", scope) == "plain"
    with pytest.raises(UnsupportedExpressionError):
        resolve("={{ $json.n + 1 }}", scope)
    assert CODA_MIN_WRITE_INTERVAL_MS == 2500
