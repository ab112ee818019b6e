"""Where the console is served: its page at `/`, `/accounts/<id>`, `/matrix`, `/attribution` and `/impact`,
its files under `/console/`.

The page and its files hold no data (everything comes from /graphql, which needs a key like any
client), so `is_console_file` lets the access middleware serve them to anyone, as it does the
GraphiQL page. One HTML page serves every console path: the client reads the path.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
GRAPHIQL_PAGE = STATIC / "graphiql" / "index.html"  # its assets are vendored beside it (docs/console.md)
FILES_PREFIX = "/console/"
PAGES = ("/", "/matrix", "/attribution", "/impact")  # the accounts list, the department matrix, revenue attribution, CX impact
ACCOUNT_PAGES = "/accounts/"  # an account's page: its id follows
REVALIDATE = {"cache-control": "no-cache"}  # revalidate, so an upgraded service's files are used at once


async def page(request: Request) -> Response:
    """The single page: the client reads the path and renders the view it names."""
    return FileResponse(STATIC / "index.html", headers=REVALIDATE)


def routes() -> list[BaseRoute]:
    return [
        *(Route(path, page, methods=["GET", "HEAD"]) for path in PAGES),
        Route(ACCOUNT_PAGES + "{account_id:path}", page, methods=["GET", "HEAD"]),
        Mount(FILES_PREFIX.rstrip("/"), app=StaticFiles(directory=STATIC), name="console"),
    ]


def is_console_file(method: str, path: str) -> bool:
    """Whether a request asks for the console's page or one of its files (open to all: they hold no data)."""
    if method not in ("GET", "HEAD"):
        return False
    return path in PAGES or path.startswith((ACCOUNT_PAGES, FILES_PREFIX))
