"""`pma google-auth`: the one-time setup of Google Calendar from a terminal (OAuth 2.0 installed-app flow).

It prints Google's consent URL (offline access, PKCE), catches Google's redirect on a loopback port, and
exchanges the code. With GOOGLE_TOKEN_KEY set the grant is stored encrypted for `--user`, as the web flow
does; otherwise it prints the two lines to put in `.env` (GOOGLE_USER_ID, GOOGLE_REFRESH_TOKEN).
Registered as a `pma.commands` entry point.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated
from urllib.parse import parse_qs, urlparse

import typer

from pma_core.errors import UpstreamError
from pma_core.postgres import open_pool
from scheduler_engine.adapters.google_credentials import GoogleAccounts, consent_url, exchange_code, pkce_pair
from scheduler_engine.settings import Settings


def google_auth(
    user: Annotated[str, typer.Option(help="The user (in this system) whose calendar this is.")],
    port: Annotated[int, typer.Option(help="Loopback port Google redirects to.")] = 8765,
) -> None:
    """Connect a Google Calendar: consent in the browser, then the grant is stored (or printed for .env)."""
    settings = Settings()
    if not settings.google.client_id:
        raise typer.BadParameter("set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET first (docs/scheduler.md)")
    refresh_token = installed_app_flow(settings, port=port, show=typer.echo)
    if settings.google.token_key is not None:
        asyncio.run(_store(settings, user, refresh_token))
        typer.echo(f"connected: {user}'s blocks now go to their Google calendar")
    else:
        typer.echo("add these to .env (and keep the file private):")
        typer.echo(f"GOOGLE_USER_ID={user}\nGOOGLE_REFRESH_TOKEN={refresh_token}")


async def _store(settings: Settings, user: str, refresh_token: str) -> None:
    pool = await open_pool(settings.postgres)
    try:
        await GoogleAccounts(pool, settings.google).store(user, refresh_token)
    finally:
        await pool.close()


def installed_app_flow(settings: Settings, *, port: int, show: Callable[[str], object], timeout: float = 300) -> str:
    """The refresh token Google grants after the user consents at the URL `show` is given."""
    redirect_uri = f"http://127.0.0.1:{port}/"
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    url = consent_url(settings.google, redirect_uri=redirect_uri, state=state, challenge=challenge)
    received: dict[str, str] = {}
    server = _redirect_catcher(port, received)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    server.timeout = timeout
    thread.start()
    show(f"open this URL in a browser and allow access:\n{url}")
    thread.join(timeout)
    server.server_close()
    if received.get("state") != state or "code" not in received:
        raise typer.BadParameter(f"no consent received ({received.get('error', 'timed out or wrong state')})")
    try:
        return asyncio.run(exchange_code(settings.google, received["code"], verifier, redirect_uri))
    except UpstreamError as exc:
        raise typer.BadParameter(f"{exc.message}: run it again") from None


def _redirect_catcher(port: int, received: dict[str, str]) -> HTTPServer:
    class Catch(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.update({key: values[0] for key, values in parse_qs(urlparse(self.path).query).items()})
            self.send_response(200)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Done: you can close this tab and go back to the terminal.")

        def log_message(self, *_: object) -> None:  # the query holds the code: never print it
            return

    return HTTPServer(("127.0.0.1", port), Catch)
