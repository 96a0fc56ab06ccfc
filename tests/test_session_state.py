"""The services whose pool skips asyncpg's session reset (`open_core_resources(..., session_state=False)`)
leave no state in a Postgres session: a connection goes back to the pool as it came, so nothing one request
did (a session lock, a setting, a LISTEN, a held cursor) can reach the next. Checked in their source and in
the core code they run; the observer, which takes a session advisory lock, keeps the reset, and the scan
finds that lock (so the scan can fail).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WITHOUT_RESET = ("memory-gateway", "planner-engine", "scheduler-engine")
# Migrations run on a connection of their own (`asyncpg.connect`), never a pooled one.
CORE_OWN_CONNECTIONS = {"migrations.py"}

SESSION_STATE = {
    "session advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.IGNORECASE),
    # SQL keywords are upper case in this code base; "SET LOCAL" lasts only until the transaction ends.
    "session setting": re.compile(r"""["']\s*(SET\s+(?!LOCAL\b)(SESSION\s+)?\w+\s*(=|TO\b)|RESET\s+\w+)"""),
    "session set_config": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE),
    "LISTEN": re.compile(r"""["']\s*LISTEN\b|\.add_listener\(""", re.IGNORECASE),
    "cursor kept past its transaction": re.compile(r"WITH\s+HOLD", re.IGNORECASE),
    "temporary table": re.compile(r"CREATE\s+TEMP", re.IGNORECASE),
}


def _session_state_in(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for what, pattern in SESSION_STATE.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    return found


def _sources(service: str) -> list[Path]:
    return sorted((ROOT / "services" / service / "src").rglob("*.py"))


@pytest.mark.parametrize("service", WITHOUT_RESET)
def test_a_service_without_the_reset_leaves_nothing_in_a_session(service: str) -> None:
    assert _session_state_in(_sources(service)) == []
    main = next((ROOT / "services" / service / "src").glob("*/main.py")).read_text(encoding="utf-8")
    assert "open_core_resources(settings, session_state=False)" in main


def test_the_core_code_they_run_leaves_nothing_in_a_session() -> None:
    paths = [path for path in _sources("core") if path.name not in CORE_OWN_CONNECTIONS]
    assert _session_state_in(paths) == []


def test_the_observer_keeps_the_reset_for_its_session_lock() -> None:
    found = _session_state_in(_sources("observer-agent"))
    assert any("session advisory lock" in entry for entry in found), found
    main = next((ROOT / "services/observer-agent/src").glob("*/main.py")).read_text(encoding="utf-8")
    assert "session_state=False" not in main
