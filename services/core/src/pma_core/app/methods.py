"""Which methods a path answers: what a 405's `Allow` lists and what `OPTIONS` answers.

Starlette's router answers a method a path does not take with the methods of the first route whose path
matched; a path served by several routes (GET and POST of `/v1/plans` are two) would list only one of them.
Every route is asked instead, through Starlette's public `matches`, so routers included with a prefix count.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this request's path, and OPTIONS (answered for every path)."""
    routes = request.app.router.routes
    allowed = {
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    }
    return sorted(allowed | {"OPTIONS"})
