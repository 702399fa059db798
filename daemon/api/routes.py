"""Every route of the API in one list: path, handler, who may call it, what it does.

The router, the auth middleware and the OpenAPI document are all built from this list,
so a route cannot exist without an access level and a description.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from aiohttp import web

from .handlers import documents, files, series, system, vault

__all__ = ["API", "ROUTES", "Access", "Route"]

API = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Access(Enum):
    PUBLIC = "public"  # anyone on the LAN: status, setup (with the setup code), unlock
    OWNER = "owner"  # a browser session, or the admin socket
    ADMIN = "admin"  # the Unix socket only (ssh + group membership)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    tag: str
    body: str | None = None  # content type of the request body, if any
    query: tuple[str, ...] = field(default=())


_DT = API + "/doctypes/{doctype}"
_SERIES = API + "/series/{name:[A-Za-z0-9][A-Za-z0-9._:/-]*}"
_FILE = API + "/files/{file_id:[0-9a-zA-Z_-]+}"
JSON = "application/json"

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        API + "/status",
        system.status,
        Access.PUBLIC,
        "Version, whether a vault exists and whether it is locked. No data.",
        "box",
    ),
    Route("GET", API + "/openapi.json", system.openapi, Access.PUBLIC, "This document.", "box"),
    Route(
        "POST",
        API + "/setup",
        vault.setup,
        Access.PUBLIC,
        "Create the vault (first run). Over TCP it needs the one-time setup code. "
        "Answers the recovery key, once.",
        "vault",
        JSON,
    ),
    Route(
        "POST",
        API + "/unlock",
        vault.unlock,
        Access.PUBLIC,
        "Unlock with the passphrase (or just log in if unlocked); starts a session.",
        "vault",
        JSON,
    ),
    Route(
        "POST",
        API + "/recover",
        vault.recover,
        Access.PUBLIC,
        "Set a new passphrase with the recovery key; unlocks and starts a session.",
        "vault",
        JSON,
    ),
    Route(
        "POST",
        API + "/lock",
        vault.lock,
        Access.OWNER,
        "Lock the box: forget the keys and end every session.",
        "vault",
    ),
    Route(
        "GET",
        API + "/session",
        vault.session,
        Access.OWNER,
        "Who is asking: proves the session is valid.",
        "vault",
    ),
    Route(
        "DELETE",
        API + "/session",
        vault.end_session,
        Access.OWNER,
        "Log this browser out (the box stays unlocked).",
        "vault",
    ),
    Route(
        "POST",
        API + "/passphrase",
        vault.passphrase,
        Access.OWNER,
        "Change the passphrase (needs the old one). Nothing is re-encrypted.",
        "vault",
        JSON,
    ),
    Route(
        "POST",
        API + "/recovery-key",
        vault.new_recovery_key,
        Access.OWNER,
        "Make a new recovery key (needs the passphrase); the old one stops working.",
        "vault",
        JSON,
    ),
    Route(
        "GET",
        API + "/admin/status",
        system.status_admin,
        Access.ADMIN,
        "Status for the CLI: data dir, port, certificate fingerprint, inbox.",
        "admin",
    ),
    Route(
        "GET",
        API + "/admin/setup-code",
        system.setup_code,
        Access.ADMIN,
        "The one-time setup code, while no vault exists.",
        "admin",
    ),
    Route(
        "POST",
        API + "/fsck",
        system.fsck,
        Access.OWNER,
        "Check the store: SQLite integrity, and every record and file authenticates.",
        "box",
    ),
    Route(
        "GET",
        API + "/doctypes",
        documents.list_doctypes,
        Access.OWNER,
        "Known doctypes and the user doctypes in this box, with counts.",
        "documents",
    ),
    Route(
        "GET",
        _DT,
        documents.get_doctype,
        Access.OWNER,
        "One doctype: title, count and JSON Schema.",
        "documents",
    ),
    Route(
        "GET",
        _DT + "/documents",
        documents.list_documents,
        Access.OWNER,
        "A page of documents in write order.",
        "documents",
        query=("limit", "cursor"),
    ),
    Route(
        "POST",
        _DT + "/documents",
        documents.create_document,
        Access.OWNER,
        "Create a document (an _id is made if absent).",
        "documents",
        JSON,
    ),
    Route(
        "GET",
        _DT + "/documents/{doc_id}",
        documents.get_document,
        Access.OWNER,
        "One document.",
        "documents",
    ),
    Route(
        "PUT",
        _DT + "/documents/{doc_id}",
        documents.put_document,
        Access.OWNER,
        "Create or replace a document; replacing needs its current _rev.",
        "documents",
        JSON,
    ),
    Route(
        "DELETE",
        _DT + "/documents/{doc_id}",
        documents.delete_document,
        Access.OWNER,
        "Delete a document (optionally only at ?rev=).",
        "documents",
        query=("rev",),
    ),
    Route(
        "POST",
        _DT + "/import",
        documents.import_documents,
        Access.OWNER,
        "Stream JSON Lines or CSV into the doctype; answers counts and bad lines.",
        "documents",
        "application/x-ndjson",
        query=("format", "id_field"),
    ),
    Route(
        "GET",
        _DT + "/export",
        documents.export_documents,
        Access.OWNER,
        "Every document of the doctype as JSON Lines.",
        "documents",
    ),
    Route(
        "GET",
        API + "/series",
        series.list_series,
        Access.OWNER,
        "Every time series, with unit and the days it covers.",
        "series",
    ),
    Route(
        "GET",
        _SERIES,
        series.query_series,
        Access.OWNER,
        "Points in [start, end), raw or downsampled by step with agg.",
        "series",
        query=("start", "end", "step", "agg"),
    ),
    Route(
        "POST",
        _SERIES,
        series.write_series,
        Access.OWNER,
        "Add points [[epoch seconds, value], ...]; an existing time is overwritten.",
        "series",
        JSON,
    ),
    Route(
        "DELETE", _SERIES, series.delete_series, Access.OWNER, "Delete a whole series.", "series"
    ),
    Route(
        "GET",
        API + "/files",
        files.list_files,
        Access.OWNER,
        "A page of files (io.cozy.files documents).",
        "files",
        query=("limit", "cursor"),
    ),
    Route(
        "POST",
        API + "/files",
        files.upload_file,
        Access.OWNER,
        "Upload a file (raw body, streamed and encrypted); ?name= is required.",
        "files",
        "application/octet-stream",
        query=("name",),
    ),
    Route("GET", _FILE, files.file_info, Access.OWNER, "A file's metadata.", "files"),
    Route(
        "GET",
        _FILE + "/content",
        files.download_file,
        Access.OWNER,
        "A file's bytes, decrypted as they stream.",
        "files",
    ),
    Route("DELETE", _FILE, files.delete_file, Access.OWNER, "Delete a file.", "files"),
)


def add_routes(app: web.Application) -> None:
    for route in ROUTES:
        resource = app.router.add_resource(route.path)
        resource.add_route(route.method, route.handler)
