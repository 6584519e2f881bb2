"""GraphiQL served by taskql itself: no CDN, no inline script.

`clients/graphiql` pins GraphiQL, React and Monaco in its lock file; `npm ci`
there bundles them into `clients/graphiql/dist`, which `graphiql_assets_router`
serves. `render_graphiql` is the HTML that `GET /graphql` answers a browser with;
it only links those files, so it works offline and under `script-src 'self'`.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

GRAPHIQL_DIST = Path(__file__).resolve().parent.parent / "clients" / "graphiql" / "dist"
ASSETS_PATH = "/graphiql/assets"
BUILD_COMMAND = "npm ci --prefix clients/graphiql"

# What the page itself needs: Monaco starts its language services as workers
# from our own files and sets element styles from script; GraphiQL embeds its
# fonts in its style sheet as data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _page(body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>taskql GraphiQL</title>\n"
        f"{body}\n</html>\n"
    )


def graphiql_page(endpoint: str = "/graphql", dist: Path = GRAPHIQL_DIST) -> HTMLResponse:
    """The GraphiQL page for `endpoint`, or how to build its assets when they are missing."""
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
    if not (dist / "graphiql.js").is_file():
        missing = _page(
            "</head>\n<body>\n<h1>GraphiQL is not built</h1>\n"
            f"<p>Run <code>{html.escape(BUILD_COMMAND)}</code> and reload.</p>\n</body>"
        )
        return HTMLResponse(missing, status_code=503, headers=headers)
    page = _page(
        f'<link rel="stylesheet" href="{ASSETS_PATH}/graphiql.css">\n'
        f'<script type="module" src="{ASSETS_PATH}/graphiql.js"></script>\n'
        "</head>\n"
        f'<body data-endpoint="{html.escape(endpoint, quote=True)}">'
        '<div id="graphiql">Loading GraphiQL…</div></body>'
    )
    return HTMLResponse(page, headers=headers)


async def render_graphiql(request: Request) -> HTMLResponse:
    """The page for the endpoint the browser asked: the /graphql router's IDE hook."""
    return graphiql_page(endpoint=request.url.path)


def graphiql_assets_router(dist: Path = GRAPHIQL_DIST) -> APIRouter:
    """`GET /graphiql/assets/{name}` for the files of the bundle, and nothing else."""
    router = APIRouter()

    @router.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def graphiql_asset(name: str) -> FileResponse:
        path = dist / name
        # Only plain names of files in the bundle: no traversal, no directories.
        if "/" in name or name.startswith(".") or not path.is_file():
            raise HTTPException(status_code=404)
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    return router
