"""Static files of the web UI, served from memory with a content hash and gzip.

The files are the package's own (CSS, JavaScript, the vendored chart library, icons, and
``api-messages.<lang>.json``, the API's messages made from the catalogue): they hold no
data, so they are public, and they are the same whether the box is locked or not. They
are read once at start-up; URLs carry a content hash (``?v=…``) so browsers may cache
them for a year, and each is gzip-compressed once for small page weights.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

from aiohttp import web

from .i18n import LANGUAGES, api_messages

__all__ = ["ASSETS", "Asset", "Assets", "api_messages_file", "load_assets", "serve_static"]

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


class Assets:
    def __init__(self, files: dict[str, Asset]) -> None:
        self.files = files

    def url(self, name: str) -> str:
        """``/static/<name>?v=<hash>``: a URL that changes when the file does."""
        asset = self.files[name]  # KeyError: a template names a file that does not exist
        return f"/static/{name}?v={asset.etag}"


def _asset(name: str, body: bytes) -> Asset:
    suffix = "." + name.rsplit(".", 1)[-1]
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"
    packed = gzip.compress(body, 9, mtime=0) if suffix not in (".png", ".woff2") else None
    return Asset(
        body,
        packed if packed is not None and len(packed) < len(body) else None,
        content_type,
        hashlib.blake2b(body, digest_size=8).hexdigest(),
    )


def _walk(root: Traversable, prefix: str = "") -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in root.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif "." + entry.name.rsplit(".", 1)[-1] in _TYPES:
            found[name] = _asset(name, entry.read_bytes())
    return found


def api_messages_file(language: str) -> str:
    """The static file with the API's messages in ``language``, for ``common.js``."""
    return f"api-messages.{language}.json"


def load_assets() -> Assets:
    files = _walk(resources.files(__package__).joinpath("static"))
    for language in LANGUAGES:
        if language != "en":  # made from the catalogue: one less file to keep in step
            files[api_messages_file(language)] = _asset(
                api_messages_file(language), api_messages(language).table()
            )
    return Assets(files)


ASSETS = web.AppKey("webui_assets", Assets)


async def serve_static(request: web.Request) -> web.StreamResponse:
    asset = request.app[ASSETS].files.get(request.match_info["path"])
    if asset is None:
        raise web.HTTPNotFound(text="no such file")
    etag = f'"{asset.etag}"'
    headers = {
        "Content-Type": asset.content_type,
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable"
        if request.query.get("v") == asset.etag
        else "no-cache",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)
