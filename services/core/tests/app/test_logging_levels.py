"""LOG_LEVEL governs uvicorn's own lines too, and uvicorn's access log switched off stays off."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from pma_core.logging import configure_logging

UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in UVICORN}
    saved_propagate = {name: logging.getLogger(name).propagate for name in UVICORN}
    yield
    root.handlers[:], level = saved_root
    root.setLevel(level)
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = saved_propagate[name]


def _as_uvicorn_configures_them(*, access_log: bool) -> None:
    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = name != "uvicorn"
    if not access_log:  # what uvicorn does for --no-access-log
        logging.getLogger("uvicorn.access").handlers = []
        logging.getLogger("uvicorn.access").propagate = False


def test_warning_level_silences_uvicorns_info_lines(capsys: pytest.CaptureFixture[str]) -> None:
    _as_uvicorn_configures_them(access_log=True)
    configure_logging(service="test", level="WARNING", fmt="text")
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /readyz HTTP/1.1" 200')
    logging.getLogger("uvicorn.error").warning("a warning still shows")
    out = capsys.readouterr().out
    assert "Started server process" not in out
    assert "/readyz" not in out
    assert "a warning still shows" in out


def test_an_access_log_switched_off_stays_off(capsys: pytest.CaptureFixture[str]) -> None:
    _as_uvicorn_configures_them(access_log=False)
    configure_logging(service="test", level="INFO", fmt="text")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /readyz HTTP/1.1" 200')
    logging.getLogger("uvicorn.error").info("Started server process")
    out = capsys.readouterr().out
    assert "/readyz" not in out
    assert "Started server process" in out
