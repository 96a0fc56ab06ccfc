"""`make test-n8n`: the five workflows of n8n-workflows/ in a real n8n, against the real stack.

Not a pytest module (no `test_` prefix): it installs n8n, starts `pma up` (embedded Postgres, Valkey and
Qdrant, the four services, with PMA_API_TOKEN set), a fake Coda and a fake Google Calendar on loopback,
imports the workflows (the internal hostnames and Coda's API root rewritten to the local ones in the JSON,
the Config nodes pointed at the test's user, doc and table) and the two credentials, publishes them,
executes each with `n8n execute`, POSTs to the webhook of a running `n8n start`, and checks what each
workflow did in the services and in the fake Coda. Prints a pass/fail table; exits 1 on any failure.

    .tools/bin/uv run --frozen python tests/n8n/run_n8n.py [--keep] [--record]

--keep leaves the temporary directory (n8n's folder, logs, the executions' output) for a look afterwards;
--record rewrites n8n-workflows/testdata/ from these executions (what the static checks evaluate).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from n8n_workflows import (  # noqa: E402
    CODA_API_ROOT,
    SERVICE_BASE_URLS,
    WORKFLOW_DIR,
    load_workflows,
    trace_from_run,
    write_trace,
)

from pma_core.embedded.process import child_setup, free_port, stop_process  # noqa: E402
from pma_core.testing.fake_coda import FakeCoda  # noqa: E402
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar  # noqa: E402
from scheduler_engine.adapters.google_calendar import event_id  # noqa: E402

N8N_DIR = ROOT / ".tools" / "n8n"
N8N_BIN = N8N_DIR / "node_modules" / ".bin" / "n8n"
RUNTIME_PACKAGE = WORKFLOW_DIR / "runtime" / "package.json"
USER = "n8n-e2e"
DOC, TABLE = "doc-n8n-e2e", "grid-tasks"
COLUMNS = {
    "c-task": "Task", "c-status": "Status", "c-estimate": "Estimate (min)", "c-deadline": "Deadline",
    "c-priority": "Priority", "c-start": "Scheduled start", "c-end": "Scheduled end", "c-task-id": "PMA task id",
    "c-note": "Note",
}  # fmt: skip
WORKFLOW_IDS = {
    "coda-to-calendar": "pmaCodaToCalendar", "calendar-to-coda": "pmaCalendarToCoda",
    "event-logging": "pmaEventLogging", "observer-daily": "pmaObserverDaily", "observer-weekly": "pmaObserverWeekly",
}  # fmt: skip


# --- reporting -------------------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, str, bool, str]] = field(default_factory=list)

    def check(self, workflow: str, what: str, ok: bool, detail: Any = "") -> bool:
        self.rows.append((workflow, what, bool(ok), "" if ok else str(detail)[:300]))
        mark = "PASS" if ok else "FAIL"
        print(f"  [{mark}] {workflow}: {what}" + ("" if ok else f" -- {str(detail)[:300]}"), flush=True)
        return bool(ok)

    def step(self, workflow: str, what: str, action: Callable[[], Any]) -> Any:
        """Run a step; an exception is a failed row (and None), not the end of the run."""
        try:
            return action()
        except Exception as exc:
            self.check(workflow, what, False, f"{type(exc).__name__}: {exc}")
            traceback.print_exc()
            return None

    @property
    def failed(self) -> int:
        return sum(not ok for _, _, ok, _ in self.rows)

    def table(self, seconds: float) -> str:
        width = max([len(w) for w, *_ in self.rows] + [8])
        check_width = max([len(c) for _, c, *_ in self.rows] + [5])
        lines = [f"{'workflow':<{width}}  {'check':<{check_width}}  result", "-" * (width + check_width + 10)]
        for workflow, what, ok, detail in self.rows:
            lines.append(f"{workflow:<{width}}  {what:<{check_width}}  {'PASS' if ok else 'FAIL'}")
            if detail:
                lines.append(f"{'':<{width}}  {'':<{check_width}}  {detail}")
        passed = len(self.rows) - self.failed
        lines.append(f"\n{passed} passed, {self.failed} failed in {seconds:.0f} s")
        return "\n".join(lines)


# --- n8n -------------------------------------------------------------------------------------------


def install_n8n() -> str:
    """npm install of runtime/package.json into .tools/n8n, skipped when that n8n version is there."""
    wanted = json.loads(RUNTIME_PACKAGE.read_text())["dependencies"]["n8n"]
    installed = N8N_DIR / "node_modules" / "n8n" / "package.json"
    if installed.exists() and json.loads(installed.read_text()).get("version") == wanted and N8N_BIN.exists():
        return f"n8n {wanted} already installed in {N8N_DIR.relative_to(ROOT)}"
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not on PATH: install Node.js 20.19+ (n8n 2.8 needs it)")
    N8N_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(RUNTIME_PACKAGE, N8N_DIR / "package.json")
    started = time.monotonic()
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=N8N_DIR, check=True)
    return f"n8n {wanted} installed in {time.monotonic() - started:.0f} s"


class N8n:
    """One n8n user folder (its SQLite database); each command gets ports of its own."""

    def __init__(self, folder: Path, logs: Path) -> None:
        self.folder, self.logs = folder, logs
        self.encryption_key = secrets.token_hex(24)
        self.server: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.counter = 0

    def env(self, port: int) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "DB_", "EXECUTIONS_"))}
        return keep | {
            "N8N_USER_FOLDER": str(self.folder), "N8N_ENCRYPTION_KEY": self.encryption_key,
            "N8N_PORT": str(port), "N8N_LISTEN_ADDRESS": "127.0.0.1", "N8N_HOST": "127.0.0.1",
            "N8N_RUNNERS_BROKER_PORT": str(free_port()), "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_DIAGNOSTICS_ENABLED": "false", "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false", "N8N_TEMPLATES_ENABLED": "false",
            "N8N_HIRING_BANNER_ENABLED": "false", "N8N_DYNAMIC_BANNERS_ENABLED": "false", "N8N_AI_ENABLED": "false",
            "N8N_LICENSE_AUTO_RENEW_ENABLED": "false", "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true",
            "N8N_PUBLIC_API_DISABLED": "true", "N8N_SECURE_COOKIE": "false", "N8N_LOG_LEVEL": "warn",
            "N8N_LOG_OUTPUT": "console", "GENERIC_TIMEZONE": "UTC", "TZ": "UTC", "N8N_PYTHON_ENABLED": "false",
        }  # fmt: skip

    def command(self, *args: str, timeout: float = 300, log_level: str = "warn") -> str:
        """Run `n8n <args>` to the end; its stdout (stderr goes to the log). Raises on a non-zero exit."""
        self.counter += 1
        log = self.logs / f"{self.counter:02d}-{args[0].replace(':', '-')}.log"
        env = self.env(free_port()) | {"N8N_LOG_LEVEL": log_level}
        with log.open("wb") as stderr:
            done = subprocess.run(
                [str(N8N_BIN), *args], env=env, stdout=subprocess.PIPE, stderr=stderr,
                timeout=timeout, preexec_fn=child_setup(None), check=False,
            )  # fmt: skip
        out = done.stdout.decode(errors="replace")
        with log.open("a") as file:
            file.write("\n--- stdout ---\n" + out)
        if done.returncode != 0:
            raise RuntimeError(f"n8n {' '.join(args)} exited {done.returncode} (log: {log}): {out[-800:]}")
        return out

    def execute(self, workflow_id: str) -> dict[str, Any]:
        """`n8n execute --id` (from the workflow's Manual Trigger); the run's data (IRun) as JSON."""
        # The run's JSON is logged at level info (n8n's `this.log`), among other info lines.
        out = self.command("execute", f"--id={workflow_id}", "--rawOutput", log_level="info")
        run: dict[str, Any] | None = None
        for start in [0] * out.startswith("{") + [i + 1 for i, c in enumerate(out) if c == "\n"]:
            if out.startswith("{", start):
                with contextlib.suppress(ValueError):
                    candidate = json.JSONDecoder().raw_decode(out[start:])[0]
                    if isinstance(candidate, dict) and "data" in candidate:
                        run = candidate
                        break
        if run is None:
            raise RuntimeError(f"no run data in the output of n8n execute --id={workflow_id}: {out[-500:]}")
        error = run.get("data", {}).get("resultData", {}).get("error")
        if error:
            raise RuntimeError(f"execution failed: {error.get('message')} ({error.get('node', {}).get('name')})")
        return run

    def start(self, webhook_path: str, headers: dict[str, str]) -> str:
        """`n8n start`; returns its base URL once the published webhook answers (workflows are activated
        a few seconds after /healthz/readiness says 200). The probe is a body the workflow refuses (400),
        so it logs nothing; 404 means the webhook is not registered yet."""
        self.port = free_port()
        log = (self.logs / "n8n-start.log").open("wb")
        self.server = subprocess.Popen(
            [str(N8N_BIN), "start"], env=self.env(self.port), stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=child_setup(None),
        )  # fmt: skip
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.server.poll() is not None:
                    raise RuntimeError(f"n8n start exited with {self.server.returncode}: see {log.name}")
                with contextlib.suppress(httpx.HTTPError):
                    probe = client.post(f"{base}/webhook/{webhook_path}", json={"probe": True}, headers=headers)
                    if probe.status_code == 400:
                        return base
                time.sleep(0.5)
        raise TimeoutError("n8n start was not ready after 120 s")

    def stop(self) -> None:
        if self.server is not None:
            stop_process(self.server, sig=signal.SIGTERM, timeout=30)  # type: ignore[arg-type]
            self.server = None


# --- the stack -------------------------------------------------------------------------------------


class Stack:
    def __init__(self, data_dir: Path, logs: Path, token: str, google: FakeGoogleCalendar, refresh: str) -> None:
        self.ports = {name: free_port() for name in SERVICE_BASE_URLS}
        self.token = token
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VALKEY_", "QDRANT_", "PMA_"))}
        env |= {f"{name.replace('-', '_').upper()}_URL": self.url(name) for name in self.ports}
        env |= {
            "PMA_API_TOKEN": token, "LOG_LEVEL": "WARNING", "SCHEDULER_NUM_WORKERS": "2",
            "SCHEDULER_TIME_LIMIT_SECONDS": "3", "LLM_ALLOW_MODEL_REQUESTS": "false",
            "GOOGLE_CLIENT_ID": google.client_id, "GOOGLE_CLIENT_SECRET": google.client_secret,
            "GOOGLE_REFRESH_TOKEN": refresh, "GOOGLE_USER_ID": USER, "GOOGLE_TOKEN_URI": google.token_url,
            "GOOGLE_API_ENDPOINT": google.url,
        }  # fmt: skip
        for key in ("OPENROUTER_API_KEY", "LLM_API_KEY", "CODA_API_TOKEN", "LANGFUSE_PUBLIC_KEY"):
            env.pop(key, None)
        command = [sys.executable, "-m", "pma_core.cli", "up", "--data-dir", str(data_dir)]
        command += ["--postgres-port", str(free_port()), "--valkey-port", str(free_port()), "--ready-timeout", "120"]
        self.log = (logs / "pma-up.log").open("w")
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            preexec_fn=child_setup(None),
        )  # fmt: skip
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, timeout: float = 240) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"pma up exited with {self.process.returncode}: see {self.log.name}")
            self.log.write(line)
            self.log.flush()
            if "press Ctrl-C to stop" in line:
                self._drain()
                return
        raise TimeoutError("pma up was not ready in time")

    def _drain(self) -> None:
        import threading

        def copy() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.log.write(line)
                self.log.flush()

        threading.Thread(target=copy, daemon=True).start()

    def get(self, service: str, path: str, **params: Any) -> Any:
        answer = self.http.get(self.url(service) + path, params=params)
        answer.raise_for_status()
        return answer.json()

    def put(self, service: str, path: str, body: Any) -> Any:
        answer = self.http.put(self.url(service) + path, json=body)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        self.http.close()
        stop_process(self.process, sig=signal.SIGTERM, timeout=60)  # type: ignore[arg-type]
        self.log.close()


# --- the workflows as imported here ----------------------------------------------------------------


def local_workflows(stack: Stack, coda: FakeCoda, target: Path) -> None:
    """The committed JSON with the internal hostnames and Coda's root rewritten to the local ones, and the
    Config nodes set to this run's user, doc and table (what a user edits after importing)."""
    target.mkdir(parents=True)
    settings = {"user_id": USER, "coda_doc_id": DOC, "coda_table_id": TABLE}
    for stem, workflow in load_workflows().items():
        text = json.dumps(workflow)
        for service, base in SERVICE_BASE_URLS.items():
            text = text.replace(base, stack.url(service))
        text = text.replace(CODA_API_ROOT, coda.url)
        local = json.loads(text)
        for node in local["nodes"]:
            if node["name"] == "Config":
                for assignment in node["parameters"]["assignments"]["assignments"]:
                    if assignment["name"] in settings:
                        assignment["value"] = settings[assignment["name"]]
        (target / f"{stem}.json").write_text(json.dumps(local, indent=2))


def credentials_file(path: Path, pma_token: str, coda_token: str, hook_token: str) -> None:
    hook = {"name": "Authorization", "value": f"Bearer {hook_token}"}
    path.write_text(json.dumps([
        {"id": "pmaApiToken", "name": "PMA API token", "type": "httpBearerAuth", "data": {"token": pma_token}},
        {"id": "codaApiToken", "name": "Coda API token", "type": "httpBearerAuth", "data": {"token": coda_token}},
        {"id": "pmaWebhookToken", "name": "PMA webhook token", "type": "httpHeaderAuth", "data": hook},
    ]))  # fmt: skip


# --- helpers for the checks ------------------------------------------------------------------------


def cells(coda: FakeCoda, row_id: str) -> dict[str, Any]:
    coda.settle()
    row = next(row for row in coda.rows(DOC, TABLE) if row["id"] == row_id)
    return {COLUMNS[column]: value for column, value in row["values"].items()}


def moment(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def executions_of(stack: Stack, task_id: str | None) -> list[dict[str, Any]]:
    if task_id is None:
        return []
    executions: list[dict[str, Any]] = stack.get("planner-engine", "/v1/executions", user_id=USER, task_id=task_id)[
        "executions"
    ]
    return executions


def ref(row_id: str) -> str:
    return f"coda:{TABLE}:{row_id}"


def node_output(run: dict[str, Any], name: str) -> list[dict[str, Any]]:
    runs = run["data"]["resultData"]["runData"].get(name) or []
    if not runs:
        return []
    main = runs[-1].get("data", {}).get("main") or [[]]
    return [item["json"] for item in (main[0] or [])]


# --- the scenario ----------------------------------------------------------------------------------


def scenario(
    report: Report, stack: Stack, coda: FakeCoda, google: FakeGoogleCalendar, n8n: N8n, record: bool, hook_token: str
) -> None:
    runs: dict[str, dict[str, Any]] = {}
    anonymous = httpx.get(f"{stack.url('planner-engine')}/v1/tasks", params={"user_id": USER}, timeout=10)
    report.check("setup", "the services refuse a call without the token (PMA_API_TOKEN)",
                 anonymous.status_code == 401, anonymous.status_code)  # fmt: skip
    stack.put("scheduler-engine", f"/v1/profiles/{USER}", {
        "time_zone": "UTC", "working_hours": {day: [{"start": "08:00", "end": "18:00"}]
                                              for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "freeze_hours": 0,
    })  # fmt: skip
    soon = (datetime.now(UTC) + timedelta(days=6)).date().isoformat()
    rows = {
        "A": coda.add_row(DOC, TABLE, {"Task": "Write the launch post", "Status": "Ready", "Estimate (min)": 60,
                                       "Priority": "High"}),
        "B": coda.add_row(DOC, TABLE, {"Task": "Renew the domain", "Status": "Ready", "Estimate (min)": 30,
                                       "Deadline": soon}),
        "C": coda.add_row(DOC, TABLE, {"Task": "Call the accountant", "Status": "Ready", "Estimate (min)": "45"}),
        "E": coda.add_row(DOC, TABLE, {"Task": "Migrate the photo archive", "Status": "Ready",
                                       "Estimate (min)": 600}),
        "R": coda.add_row(DOC, TABLE, {"Task": "Tidy the shed", "Status": "Ready", "Estimate (min)": "lots"}),
        "X": coda.add_row(DOC, TABLE, {"Task": "Already done", "Status": "Done", "Estimate (min)": 20}),
    }  # fmt: skip
    before_x = cells(coda, rows["X"])

    # 1. Coda -> Calendar
    wf = "coda-to-calendar"
    started = time.monotonic()
    run = report.step(wf, "n8n execute succeeds", lambda: n8n.execute(WORKFLOW_IDS[wf]))
    if run is not None:
        runs[wf] = run
        report.check(wf, "n8n execute succeeds", True)
        print(f"    ({time.monotonic() - started:.1f} s)")
    tasks = {key: stack.get("planner-engine", "/v1/tasks", user_id=USER, external_ref=ref(row))["tasks"]
             for key, row in rows.items()}  # fmt: skip
    report.check(
        wf,
        "Ready rows imported into the planner (source coda, external_ref coda:<table>:<row>)",
        all(len(tasks[k]) == 1 and tasks[k][0]["source"] == "coda" for k in "ABCE")
        and not tasks["R"]
        and not tasks["X"],
        {k: len(v) for k, v in tasks.items()},
    )
    scheduled_run = node_output(run, "Read run")[0] if run else {}
    blocks = {block["task_id"]: block for block in scheduled_run.get("blocks", [])}
    ok, detail = True, []
    for key in "ABC":
        values = cells(coda, rows[key])
        task = tasks[key][0] if tasks[key] else {}
        block = blocks.get(task.get("id"))
        good = (values["Status"] == "Scheduled" and values["PMA task id"] == task.get("id") and block is not None
                and moment(values["Scheduled start"]) == moment(block["start"])
                and moment(values["Scheduled end"]) == moment(block["end"]))  # fmt: skip
        ok &= good
        if not good:
            detail.append((key, values, block))
    report.check(wf, "rows written back: Status Scheduled, the run's start/end, PMA task id", ok, detail)
    values_e = cells(coda, rows["E"])
    report.check(
        wf,
        "an unscheduled task: Needs attention, the scheduler's reason in Note",
        values_e["Status"] == "Needs attention" and len(str(values_e["Note"])) > 10,
        values_e,
    )
    values_r = cells(coda, rows["R"])
    report.check(
        wf,
        "an unreadable row: Needs attention, the reason in Note",
        values_r["Status"] == "Needs attention" and "estimate" in str(values_r["Note"]),
        values_r,
    )
    report.check(wf, "rows not Ready are left alone", cells(coda, rows["X"]) == before_x, cells(coda, rows["X"]))
    events = {str(e["id"]) for e in google.events(USER)}
    report.check(
        wf,
        "the blocks are on the (fake) Google Calendar",
        all(event_id(UUID(block["id"])) in events for block in blocks.values()) and len(blocks) >= 3,
        f"{len(blocks)} blocks, {len(events)} events",
    )
    writes = coda.requests("write")
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(writes)]
    report.check(
        wf,
        "Coda writes spaced out (batching: one per 2.5 s)",
        writes and min(gaps, default=9) >= 2.3,
        [round(g, 2) for g in gaps],
    )

    # The user changes the calendar: A moved later, B deleted, C moved into the past (so it is done).
    task_ids = {key: tasks[key][0]["id"] for key in "ABC" if tasks[key]}
    block_of = {key: blocks[task_ids[key]] for key in task_ids if task_ids[key] in blocks}
    moved_a = moved_c = None
    if len(block_of) == 3:
        start_a = moment(block_of["A"]["start"]) + timedelta(days=1)  # type: ignore[operator]
        moved_a = (start_a, start_a + timedelta(hours=1))
        google.move_event(USER, event_id(UUID(block_of["A"]["id"])), start=moved_a[0], end=moved_a[1])
        google.delete_event(USER, event_id(UUID(block_of["B"]["id"])))
        yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        moved_c = (yesterday, yesterday + timedelta(minutes=45))
        google.move_event(USER, event_id(UUID(block_of["C"]["id"])), start=moved_c[0], end=moved_c[1])
    rows["D"] = coda.add_row(DOC, TABLE, {"Task": "Book the venue", "Status": "Ready", "Estimate (min)": 30})

    # A second run (a new Ready row): the scheduler reads the calendar first, and settles C as done.
    wf = "coda-to-calendar (2nd run)"
    run2 = report.step(wf, "n8n execute succeeds", lambda: n8n.execute(WORKFLOW_IDS["coda-to-calendar"]))
    if run2 is not None:
        report.check(wf, "n8n execute succeeds", True)
    report.check(
        wf, "the new Ready row is scheduled", cells(coda, rows["D"])["Status"] == "Scheduled", cells(coda, rows["D"])
    )
    changes = stack.get("scheduler-engine", "/v1/changes", user_id=USER)["changes"]
    kinds = sorted((c["kind"], c["task_id"]) for c in changes)
    report.check(
        wf,
        "the scheduler's feed holds moved, deleted and done",
        {k for k, _ in kinds} >= {"moved", "deleted", "done"},
        kinds,
    )

    # 2. Calendar -> Coda
    wf = "calendar-to-coda"
    writes_before = len(coda.requests("write"))
    run = report.step(wf, "n8n execute succeeds", lambda: n8n.execute(WORKFLOW_IDS[wf]))
    if run is not None:
        runs[wf] = run
        report.check(wf, "n8n execute succeeds", True)
    values_a, values_b, values_c = (cells(coda, rows[k]) for k in "ABC")
    report.check(wf, "moved block: its new Scheduled start/end in the row",
                 moved_a is not None and moment(values_a["Scheduled start"]) == moved_a[0]
                 and moment(values_a["Scheduled end"]) == moved_a[1] and values_a["Status"] == "Scheduled",
                 (values_a, moved_a))  # fmt: skip
    report.check(
        wf,
        "deleted block: Needs attention, Note says why",
        values_b["Status"] == "Needs attention" and values_b["Note"] == "its block was deleted on the calendar",
        values_b,
    )
    report.check(wf, "done block: Status Done", values_c["Status"] == "Done", values_c)
    executions = executions_of(stack, task_ids.get("C"))
    report.check(wf, "done block: one succeeded execution, started/finished = the block",
                 len(executions) == 1 and executions[0]["status"] == "succeeded" and moved_c is not None
                 and moment(executions[0]["started_at"]) == moved_c[0]
                 and moment(executions[0]["finished_at"]) == moved_c[1], executions)  # fmt: skip
    report.check(wf, "rows without a change are left alone", cells(coda, rows["D"])["Status"] == "Scheduled")
    writes_first = len(coda.requests("write")) - writes_before
    again = report.step(wf, "a second execution succeeds", lambda: n8n.execute(WORKFLOW_IDS[wf]))
    if again is not None:
        report.check(wf, "a second execution succeeds", True)
    executions = executions_of(stack, task_ids.get("C"))
    report.check(
        wf,
        "the cursor in static data: a second run writes nothing again",
        len(coda.requests("write")) == writes_before + writes_first and len(executions) == 1,
        f"{len(coda.requests('write')) - writes_before - writes_first} more writes, {len(executions)} executions",
    )

    # 4./5. Observer triggers
    for wf, kind in (("observer-daily", "daily"), ("observer-weekly", "weekly")):
        run = report.step(wf, "n8n execute succeeds", lambda wf=wf: n8n.execute(WORKFLOW_IDS[wf]))
        if run is not None:
            runs[wf] = run
            report.check(wf, "n8n execute succeeds", True)
        stored = stack.get("observer-agent", "/v1/reflections", user_id=USER, kind=kind)["reflections"]
        if kind == "daily":
            today = datetime.now(UTC).date().isoformat()
            report.check(
                wf,
                "a daily reflection of today (default_day: today) is stored",
                any(r["period"] == today for r in stored),
                [r["period"] for r in stored],
            )
        else:
            week = (datetime.now(UTC) - timedelta(days=1)).isocalendar()
            iso = f"{week.year}-W{week.week:02d}"
            report.check(
                wf,
                "a weekly reflection of the week of yesterday is stored",
                any(r["period"] == iso for r in stored),
                [r["period"] for r in stored],
            )

    # 3. Event logging: by hand (its test event), then through the webhook of a running n8n
    wf = "event-logging"
    run = report.step(wf, "n8n execute (its test event) succeeds", lambda: n8n.execute(WORKFLOW_IDS[wf]))
    if run is not None:
        runs[wf] = run
        report.check(wf, "n8n execute (its test event) succeeds", True)
        logged = node_output(run, "Log event")
        report.check(
            wf, "the test event is logged", bool(logged) and logged[0]["outcome"] in ("created", "replayed"), logged
        )
    if record:
        for stem, data in runs.items():
            write_trace(stem, trace_from_run(stem, data))
        print(f"  recorded testdata for {', '.join(runs)}")
    auth = {"Authorization": f"Bearer {hook_token}"}
    base = report.step(wf, "n8n start serves the webhook", lambda: n8n.start("pma-events", auth))
    if base is None:
        return
    report.check(wf, "n8n start serves the webhook", True)
    url = f"{base}/webhook/pma-events"
    good = {"user_id": USER, "event_type": "agent.run", "actor": "coder", "subject": "newsletter pipeline",
            "summary": "Deploy failed: SMTP timeout", "payload": {"run": 41}}  # fmt: skip
    with httpx.Client(timeout=60) as stranger:
        refused = [stranger.post(url, json=good, headers=headers) for headers in ({}, {"Authorization": "Bearer no"})]
    answers = [(r.status_code, r.text[:80]) for r in refused]
    report.check(
        wf, "no webhook token, or a wrong one: refused (401/403)", all(a[0] in (401, 403) for a in answers), answers
    )
    with httpx.Client(timeout=60, headers=auth) as client:
        first = client.post(url, json=good)
        report.check(
            wf,
            "a good body: 202 with the event id",
            first.status_code == 202 and first.json().get("event_id"),
            (first.status_code, first.text),
        )
        second = client.post(url, json=good)
        report.check(
            wf,
            "the same body again: 202, replayed, the same event",
            second.status_code == 202
            and second.json().get("outcome") == "replayed"
            and second.json().get("event_id") == first.json().get("event_id"),
            second.text,
        )
        listed = stack.get("memory-gateway", "/v1/events", user_id=USER, types="agent.run")["events"]
        report.check(
            wf,
            "the event is in the memory-gateway, once (none from the refused calls)",
            sum(e["summary"] == good["summary"] for e in listed) == 1,
            [e["summary"] for e in listed],
        )
        keyed = client.post(url, json=good | {"summary": "Deploy retried"}, headers={"Idempotency-Key": "run-42"})
        report.check(
            wf,
            "the caller's Idempotency-Key is the key",
            keyed.status_code == 202 and keyed.json().get("idempotency_key") == "run-42",
            keyed.text,
        )
        bad = client.post(url, json={"user_id": USER, "event_type": "Agent Run", "payload": []})
        message = bad.json().get("error", {}).get("message", "") if bad.status_code == 400 else ""
        report.check(wf, "a bad body: 400 validation_error naming each problem",
                     bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
                     and "summary is required" in message and "event_type" in message and "payload" in message,
                     (bad.status_code, bad.text))  # fmt: skip
        future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        late = client.post(url, json=good | {"occurred_at": future})
        report.check(wf, "an event in the future: 400", late.status_code == 400 and "future" in late.text, late.text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--record", action="store_true", help="rewrite n8n-workflows/testdata from this run")
    args = parser.parse_args()
    started = time.monotonic()
    report = Report()
    print(install_n8n(), flush=True)
    temp = Path(tempfile.mkdtemp(prefix="pma-n8n-"))
    logs = temp / "logs"
    logs.mkdir()
    print(f"working in {temp}", flush=True)
    pma_token, coda_token, hook_token = (secrets.token_urlsafe(24) for _ in range(3))
    with contextlib.ExitStack() as stack_of:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        coda = stack_of.enter_context(FakeCoda(token=coda_token))
        coda.add_table(DOC, TABLE, columns=COLUMNS, name="Tasks")
        google = stack_of.enter_context(FakeGoogleCalendar())
        refresh = google.add_user(USER)
        stack = Stack(temp / "pma-data", logs, pma_token, google, refresh)
        stack_of.callback(stack.stop)
        n8n = N8n(temp / "n8n", logs)
        stack_of.callback(n8n.stop)
        try:
            stack.wait_ready()
            print(f"stack ready after {time.monotonic() - started:.0f} s", flush=True)
            local_workflows(stack, coda, temp / "workflows")
            credentials_file(temp / "credentials.json", pma_token, coda_token, hook_token)
            n8n.command("import:workflow", "--separate", f"--input={temp / 'workflows'}")
            n8n.command("import:credentials", f"--input={temp / 'credentials.json'}")
            for workflow_id in WORKFLOW_IDS.values():
                n8n.command("publish:workflow", f"--id={workflow_id}")
            report.check("setup", "import:workflow, import:credentials, publish:workflow x5", True)
            print(f"n8n set up after {time.monotonic() - started:.0f} s", flush=True)
            scenario(report, stack, coda, google, n8n, args.record, hook_token)
        except Exception as exc:
            report.check("setup", "stack and n8n", False, f"{type(exc).__name__}: {exc}")
            traceback.print_exc()
        finally:
            n8n.stop()
    if not args.keep:
        shutil.rmtree(temp, ignore_errors=True)
    print("\n" + report.table(time.monotonic() - started))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
