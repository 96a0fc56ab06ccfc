"""Every curl example of README.md and docs/*.md runs against the four services (tests/four_services.py), in
the order of its doc, and answers what the doc shows (issue 9: examples had drifted from the services).

`localhost:8101`..`8104` (the ports of `make dev`) become the test's; an id an example keeps
(`PLAN=$(curl ... | jq -r .id)`) is `$PLAN` in the examples of that doc after it. What a doc shows under a
command (`# 201 {...}`) is checked: the status and every field shown, ids and moments aside
(docs_examples.mismatches); a command with no answer shown must answer a 2xx. The docs share one stack, each
in users of its own. An example that cannot run here is in NOT_RUNNABLE with the reason; any other curl in
the docs, a new one included, runs. The /readyz example and the error table of api.md are held to what the
services report and raise.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import shlex
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from docs_examples import ROOT, Example, curl_mentions, doc_files, examples, json_blocks, mismatches
from four_services import start_four_services

from pma_core.app.handlers import _HTTP_CODES
from pma_core.settings import PostgresSettings, ServiceUrls, ValkeySettings

# (doc, a piece of the command that finds it): why it cannot run against the local stack.
NOT_RUNNABLE = {
    ("docs/deployment.md", "https://memory.$PMA_DOMAIN/readyz"): "goes through Cloudflare Access with a service token",
    ("docs/operations.md", "--resolve"): "goes through the VPS's Traefik on port 443 with Cloudflare Access set up",
    ("docs/operations.md", "https://planner.<domain>"): "goes through Cloudflare Access with a service token",
    ("docs/operations.md", '/tables"'): "asks Coda's API, with a real Coda token",
    ("docs/operations.md", '/columns"'): "asks Coda's API, with a real Coda token",
    ("docs/scheduler.md", "/v1/busy"): "shows a Google Calendar user's busy time; the test stack has no Google",
}
LOCAL_PORTS = {8101: "memory_gateway_url", 8102: "planner_engine_url", 8103: "scheduler_engine_url",
               8104: "observer_agent_url"}  # fmt: skip
SERVICE_URLS = {"memory-gateway": "memory_gateway_url", "planner-engine": "planner_engine_url",
                "scheduler-engine": "scheduler_engine_url", "observer-agent": "observer_agent_url"}  # fmt: skip
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
# A GET may show what background work settles (a run solved): it is asked again until then, within this.
SETTLE_SECONDS = 20.0
PLACEHOLDER = re.compile(r"<[A-Za-z][\w .-]*>|\.\.\.")
USER_ID = re.compile(r'"user_id":\s*"([^"]+)"|user_id=([^&\'"\s]+)|/v1/calendars/([^/]+)/')
ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)=\$\((?P<inner>.*)\)$", re.DOTALL)
VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)\}|(?P<bare>[A-Za-z_]\w*))")


def _all_examples() -> list[Example]:
    return [example for path in doc_files() for example in examples(path)]


def _reason(example: Example) -> str | None:
    reasons = [why for (doc, piece), why in NOT_RUNNABLE.items() if doc == example.doc and piece in example.text]
    return reasons[0] if reasons else None


def test_every_curl_in_the_docs_is_an_example_read_here() -> None:
    # A curl in a block of another language, or written in a way the reader misses, would go unchecked.
    for path in doc_files():
        found = examples(path)
        assert len(found) == curl_mentions(path), (path, [example.where for example in found])


def test_each_example_not_run_here_is_still_in_the_docs_once() -> None:
    everything = _all_examples()
    for (doc, piece), why in NOT_RUNNABLE.items():
        matching = [example.where for example in everything if example.doc == doc and piece in example.text]
        assert len(matching) == 1, (doc, piece, why, matching)


def test_no_two_docs_share_a_user() -> None:
    # The docs run on one stack, each in its own users, so no doc's data changes another doc's answers.
    owners: dict[str, set[str]] = {}
    for example in _all_examples():
        for user in USER_ID.findall(example.text):
            owners.setdefault(next(name for name in user if name), set()).add(example.doc)
    assert {user: docs for user, docs in owners.items() if len(docs) > 1} == {}


@pytest.fixture
async def urls(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[ServiceUrls]:
    async with AsyncExitStack() as running:
        yield await start_four_services(running, postgres=postgres_settings, valkey=valkey_settings, data_dir=tmp_path)


async def test_every_example_answers_as_its_doc_shows(urls: ServiceUrls) -> None:
    problems: list[str] = []
    async with httpx.AsyncClient(timeout=30.0) as http:
        for path in doc_files():
            variables: dict[str, str] = {}  # the doc's shell: the ids its examples keep for the ones after them
            for example in examples(path):
                if _reason(example) is None:
                    found = await _run(example, http, urls, variables)
                    problems += [f"{example.where}: {problem}" for problem in found]
            problems += await _readiness_mismatches(path, http, urls)
    assert not problems, "\n".join(problems)


# ---- running one example


@dataclass(frozen=True)
class Curl:
    method: str
    url: str
    headers: dict[str, str]
    data: str | None
    status_only: bool  # `-o /dev/null -w '%{http_code}\n'`: it prints the status, not the body


async def _run(example: Example, http: httpx.AsyncClient, urls: ServiceUrls, variables: dict[str, str]) -> list[str]:
    """What is wrong with one example's answer (nothing: it answers as shown); keeps the id it binds."""
    try:
        name, command, path = _split_command(example.text)
        command = _expand(command, variables)
        if PLACEHOLDER.search(command):
            return [f"holds a placeholder, so a reader cannot run it as written: {example.text}"]
        curl = _parse_curl(command)
        url = _local(curl.url, urls)
    except KeyError as unbound:
        return [f"${unbound.args[0]} is not set by an earlier example of this doc: {example.text}"]
    except ValueError as unreadable:
        return [str(unreadable)]
    response, problems = await _answer(example, curl, url, http)
    if name and path and not problems:
        value = _jq(response.json(), path)
        if not isinstance(value, str | int):
            return [f"jq -r {path} gives {value!r}, not an id"]
        variables[name] = str(value)
    return problems


async def _answer(example: Example, curl: Curl, url: str, http: httpx.AsyncClient) -> tuple[httpx.Response, list[str]]:
    content = curl.data.encode() if curl.data else None
    request = http.build_request(curl.method, url, headers=curl.headers, content=content)
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        response = await http.send(request)
        problems = _compare(example, curl, response)
        if not problems or curl.method != "GET" or time.monotonic() > deadline:
            return response, problems
        await asyncio.sleep(0.2)


def _local(url: str, urls: ServiceUrls) -> str:
    """The test's URL for `localhost:810x`."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.hostname not in LOCAL_HOSTS or parts.port not in LOCAL_PORTS:
        raise ValueError(f"not a service of `make dev` (localhost:8101..8104): {url} (list the example if it is meant)")
    base = getattr(urls, LOCAL_PORTS[parts.port])
    return f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _compare(example: Example, curl: Curl, response: httpx.Response) -> list[str]:
    expected = example.expected
    said = f"{response.status_code} {response.text[:600]}"
    if expected is None:
        return [] if response.is_success else [f"answered {said}, the doc shows no error"]
    if response.status_code != expected.status:
        return [f"answered {said}, the doc shows {expected.status}"]
    if expected.body is None or curl.status_only:
        return []
    try:
        body = response.json()
    except json.JSONDecodeError:
        return [f"answered {said}, not the JSON the doc shows"]
    return mismatches(expected.body, body)


# ---- a command as the shell and curl read it


def _split_command(text: str) -> tuple[str | None, str, str | None]:
    """(variable, curl command, jq filter) of `NAME=$(curl ... | jq -r FILTER)`, else (None, text, None)."""
    assignment = ASSIGNMENT.match(text)
    if not assignment:
        return None, text, None
    inner = assignment["inner"]
    pipes = [at for at, char in enumerate(_unquoted(inner)) if char == "|"]
    jq = shlex.split(inner[pipes[0] + 1 :]) if len(pipes) == 1 else []
    if len(jq) != 3 or jq[:2] != ["jq", "-r"]:
        raise ValueError(f"only NAME=$(curl ... | jq -r FILTER) is read here: {text!r}")
    return assignment["name"], inner[: pipes[0]].strip(), jq[2]


def _unquoted(text: str) -> str:
    """`text` with every quoted character blanked, so only the shell's own `|` and `$` are left."""
    out, quote = [], None
    for char in text:
        closing = quote is not None and char == quote
        out.append(char if quote is None or closing else " ")
        quote = None if closing else (char if quote is None and char in "'\"" else quote)
    return "".join(out)


def _expand(text: str, variables: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced outside single quotes, as the shell does; an unset one is a KeyError."""
    out, quote, at = [], None, 0
    while at < len(text):
        match = VARIABLE.match(text, at) if quote != "'" else None
        if match:
            out.append(variables[match["braced"] or match["bare"]])
            at = match.end()
            continue
        if text[at] in "'\"" and quote in (None, text[at]):
            quote = None if quote else text[at]
        out.append(text[at])
        at += 1
    return "".join(out)


def _jq(value: Any, path: str) -> Any:
    """`jq -r .a.b[0].c`: the only jq the docs use."""
    if not re.fullmatch(r"(\.\w+|\[\d+\])+", path):
        raise ValueError(f"only a jq path like .a[0].b is read here, not {path!r}")
    for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        value = value[name] if name else value[int(index)]
    return value


def _parse_curl(text: str) -> Curl:
    """The request a curl command sends, for the options the docs use; any other option is refused."""
    words = shlex.split(text)
    method, url, headers, data = None, None, {}, []
    output: tuple[str | None, str | None] = (None, None)  # curl's -o and -w
    arguments = iter(words[1:])
    for word in arguments:
        if word in ("-X", "--request"):
            method = next(arguments)
        elif word in ("-H", "--header"):
            name, _, value = next(arguments).partition(":")
            headers[name.strip().lower()] = value.strip()
        elif word in ("-d", "--data", "--data-raw"):
            data.append(next(arguments))
        elif word in ("-o", "-w"):
            output = (next(arguments), output[1]) if word == "-o" else (output[0], next(arguments))
        elif word in ("-s", "--silent"):
            continue
        elif word.startswith("-") or url is not None:
            raise ValueError(f"curl option {word!r} is not read here (add it, or list the example): {text!r}")
        else:
            url = word
    if words[0] != "curl" or url is None or output not in ((None, None), ("/dev/null", r"%{http_code}\n")):
        raise ValueError(f"not one request whose answer this test can read: {text!r}")
    if data:  # as curl does: -d posts, form-encoded unless the command says otherwise
        headers.setdefault("content-type", "application/x-www-form-urlencoded")
    body = "&".join(data) if data else None
    return Curl(method or ("POST" if data else "GET"), url, headers, body, status_only=output[0] is not None)


# ---- the /readyz example and the error table


async def _readiness_mismatches(path: Path, http: httpx.AsyncClient, urls: ServiceUrls) -> list[str]:
    """A /readyz answer shown in a doc names the dependencies that service checks, each as critical as it is."""
    problems = []
    for line, shown in json_blocks(path):
        if not (isinstance(shown, dict) and {"service", "dependencies"} <= shown.keys()):
            continue
        report = (await http.get(f"{getattr(urls, SERVICE_URLS[shown['service']])}/readyz")).json()
        actual = {dependency["name"]: dependency["critical"] for dependency in report["dependencies"]}
        said = {dependency["name"]: dependency["critical"] for dependency in shown["dependencies"]}
        if said != actual:
            problems.append(f"{path.relative_to(ROOT)}:{line}: {shown['service']} /readyz shows {said}, has {actual}")
    return problems


# The services' sources, the harness's fakes (pma_core.testing) aside.
SOURCES = [path for path in sorted(ROOT.glob("services/*/src/**/*.py")) if "testing" not in path.parts]
ERROR_ROW = re.compile(r"^\|\s*(?P<status>\d{3})\s*\|(?P<codes>[^|]*)\|")


def test_the_error_table_of_api_md_names_every_code_the_services_answer() -> None:
    documented = _documented_codes(ROOT / "docs" / "api.md")
    answered = _answered_codes()
    assert sorted(documented - answered) == [], "the table of docs/api.md names codes no service answers"
    assert sorted(answered - documented) == [], "codes the services answer that docs/api.md's table leaves out"


def _documented_codes(path: Path) -> set[tuple[int, str]]:
    section = path.read_text().split("\n## Errors\n")[1].split("\n#")[0]
    rows = [ERROR_ROW.match(line) for line in section.splitlines()]
    return {(int(row["status"]), code) for row in rows if row for code in re.findall(r"`(\w+)`", row["codes"])}


def _answered_codes() -> set[tuple[int, str]]:
    """(status, code) of every error a service can answer: each AppError subclass's own code, each
    `code=` given to one where it is raised, and the codes of the HTTP errors the framework raises."""
    texts = [path.read_text() for path in SOURCES]
    modules = [list(ast.walk(ast.parse(text))) for text in texts if "code" in text]  # every node, walked once
    classes = {node.name: node for nodes in modules for node in nodes if isinstance(node, ast.ClassDef)}
    statuses = {name: status for name in classes if (status := _status(name, classes)) is not None}
    codes = {(statuses[name], code) for name in statuses if (code := _attribute(classes[name], "code"))}
    for nodes in modules:
        for call in (node for node in nodes if isinstance(node, ast.Call) and _name(node.func) in statuses):
            given = [keyword.value for keyword in call.keywords if keyword.arg == "code"]
            codes |= {(statuses[_name(call.func)], code) for code in _strings(given[0], nodes)} if given else set()
    return codes | set(_HTTP_CODES.items())


def _status(name: str, classes: dict[str, ast.ClassDef]) -> int | None:
    """The HTTP status of an AppError subclass (its own `status_code` or inherited); None for other classes."""
    node = classes.get(name)
    if node is None:
        return None
    own = _attribute(node, "status_code")
    if name == "AppError":
        return int(own)
    inherited = [status for base in node.bases if (status := _status(_name(base), classes)) is not None]
    return (int(own) if own is not None else inherited[0]) if inherited else None


def _attribute(node: ast.ClassDef, name: str) -> Any:
    for statement in node.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in statement.targets
        ):
            return statement.value.value if isinstance(statement.value, ast.Constant) else None
    return None


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _strings(expression: ast.expr, module: list[ast.AST]) -> set[str]:
    """The codes an expression can give: its string constants, and the values of a dict it looks up by name."""
    names = {node.id for node in ast.walk(expression) if isinstance(node, ast.Name)}
    looked_up = [
        node.value for node in module
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
        and any(isinstance(target, ast.Name) and target.id in names for target in node.targets)
    ]  # fmt: skip
    constants = [node for part in [expression, *looked_up] for node in ast.walk(part) if isinstance(node, ast.Constant)]
    return {node.value for node in constants if isinstance(node.value, str)}
