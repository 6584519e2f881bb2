"""GraphiQL served by taskql itself: no CDN, no inline script.

`clients/graphiql` pins GraphiQL, React and Monaco in its lock file; `npm ci`
there bundles them into `clients/graphiql/dist`, which `graphiql_assets_router`
serves. `render_graphiql` is the HTML that `GET /graphql` answers a browser with;
it only links those files, so it works offline and under `script-src 'self'`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

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


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the bundle, read and gzipped once per process (and again if it changes)."""

    body: bytes
    gzipped: bytes
    digest: str
    media_type: str

    def etag(self, *, gzipped: bool) -> str:
        """A strong validator per representation: the gzipped bytes are another one."""
        return f'"{self.digest}-gz"' if gzipped else f'"{self.digest}"'


def _read_asset(path: Path) -> Asset:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    return Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        digest=hashlib.sha256(body).hexdigest()[:32],
        media_type=media_type,
    )


class AssetCache:
    """The bundle's files in memory, each keyed by its modification time and size."""

    def __init__(self, dist: Path) -> None:
        self._dist = dist
        self._assets: dict[str, tuple[tuple[int, int], Asset]] = {}

    async def get(self, name: str) -> Asset | None:
        """The asset called `name`; None for anything but a plain name of a bundle file."""
        path = self._dist / name
        if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
            return None
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._assets.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        asset = await asyncio.to_thread(_read_asset, path)
        self._assets[name] = (version, asset)
        return asset


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip().lower() in {"gzip", "*"}:
            quality = parameters.strip().removeprefix("q=").strip()
            return quality not in {"0", "0.0", "0.00", "0.000"}
    return False


def _matches(if_none_match: str, etags: set[str]) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or not candidates.isdisjoint(etags)


def asset_response(asset: Asset, request: Request) -> Response:
    """The asset, gzipped when the client takes gzip; 304 when its validator still holds.

    Browsers revalidate (`no-cache`) and get a 304 without a body while the file is the
    same, so a new build is seen at once and an unchanged one costs one round trip.
    """
    gzipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "ETag": asset.etag(gzipped=gzipped),
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
    }
    if_none_match = request.headers.get("if-none-match")
    validators = {asset.etag(gzipped=True), asset.etag(gzipped=False)}
    if if_none_match is not None and _matches(if_none_match, validators):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = asset.gzipped if gzipped else asset.body
    return Response(body, headers=headers, media_type=asset.media_type)


def graphiql_assets_router(dist: Path | None = None) -> APIRouter:
    """`GET /graphiql/assets/{name}` for the files of the bundle (`GRAPHIQL_DIST` unless
    told otherwise), and nothing else."""
    router = APIRouter()
    assets = AssetCache(GRAPHIQL_DIST if dist is None else dist)

    @router.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def graphiql_asset(name: str, request: Request) -> Response:
        asset = await assets.get(name)
        if asset is None:
            raise HTTPException(status_code=404)
        return asset_response(asset, request)

    return router
