"""Every route of the API in one list: path, handler, who may call it, what it does.

The router, the auth middleware and the OpenAPI document are all built from this list,
so a route cannot exist without an access level and a description.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from aiohttp import web

from ..webui.assets import serve_static
from ..webui.pages import answers as answer_pages
from ..webui.pages import apps, backups, connectors, data, home, privacy, settings
from ..webui.pages import vault as vault_pages
from .handlers import (
    answers,
    archive,
    backup,
    contribution,
    documents,
    file_import,
    files,
    ledger,
    series,
    system,
    vault,
)
from .handlers import connectors as sources

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
_CONNECTOR = API + "/connectors/{connector_id:[a-z][a-z0-9-]+}"
_ACCOUNT = API + "/accounts/{account_id:[0-9a-f]+}"
_BACKUP = API + "/backups/{name:[a-z0-9][a-z0-9-]*}"
_ANSWER = API + "/answers/{request_id:[0-9a-f]+}"
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
        "Unlock with the passphrase, or the text of the unattended-unlock key file "
        "(or just log in if unlocked); starts a session.",
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
        API + "/unattended",
        vault.unattended,
        Access.OWNER,
        "Unattended unlock: on or off, where the key file is expected, whether the box "
        "is watching for it and what it last found.",
        "vault",
    ),
    Route(
        "POST",
        API + "/unattended",
        vault.enable_unattended,
        Access.OWNER,
        "Turn unattended unlock on, or renew its key (needs the passphrase): answers the "
        "key file's text, once, to write at `path` (a USB stick); any older key file "
        "stops working.",
        "vault",
        JSON,
    ),
    Route(
        "DELETE",
        API + "/unattended",
        vault.disable_unattended,
        Access.OWNER,
        "Turn unattended unlock off: no key file opens the box any more.",
        "vault",
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
        "Stream JSON Lines or CSV into the doctype (or, on the admin socket, read the file "
        "?file= names: one the CLI handed over); answers counts and bad lines.",
        "documents",
        "application/x-ndjson",
        query=("format", "id_field", "file"),
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
    # -- connectors (docs/connectors.md): the catalogue, accounts, runs
    Route(
        "GET",
        API + "/connectors",
        sources.catalogue,
        Access.OWNER,
        "The connectors this box has: manifests with the credential fields of their forms.",
        "connectors",
    ),
    Route(
        "GET",
        _CONNECTOR,
        sources.connector,
        Access.OWNER,
        "One connector's manifest.",
        "connectors",
    ),
    Route(
        "POST",
        _CONNECTOR + "/probe",
        sources.probe,
        Access.OWNER,
        "Run a connector's probe (a wiring check) in its sandbox; answers what it found.",
        "connectors",
        JSON,
    ),
    Route(
        "GET",
        API + "/accounts",
        sources.list_accounts,
        Access.OWNER,
        "The sources the owner added, with status, last run and what needs their action.",
        "connectors",
    ),
    Route(
        "POST",
        API + "/accounts",
        sources.add_account,
        Access.OWNER,
        "Add a source: connector, credentials (secrets are write-only), settings.",
        "connectors",
        JSON,
    ),
    Route(
        "GET",
        _ACCOUNT,
        sources.get_account,
        Access.OWNER,
        "One source and its status.",
        "connectors",
    ),
    Route(
        "PATCH",
        _ACCOUNT,
        sources.update_account,
        Access.OWNER,
        "Change a source's credentials, schedule, base URLs or label; re-enables automatic runs.",
        "connectors",
        JSON,
    ),
    Route(
        "DELETE",
        _ACCOUNT,
        sources.delete_account,
        Access.OWNER,
        "Remove a source with its state and run records (its data stays).",
        "connectors",
    ),
    Route(
        "POST",
        _ACCOUNT + "/run",
        sources.run_account,
        Access.OWNER,
        "Run a source now, even when it waits for the owner's action.",
        "connectors",
    ),
    Route(
        "GET",
        _ACCOUNT + "/runs",
        sources.list_runs,
        Access.OWNER,
        "A source's recent runs, newest first (without their logs).",
        "connectors",
    ),
    Route(
        "GET",
        API + "/runs/{run_id:[0-9a-f]+}",
        sources.get_run,
        Access.OWNER,
        "One run: outcome, progress, counts and its log (?wait=1: once it has ended).",
        "connectors",
        query=("wait",),
    ),
    Route(
        "POST",
        API + "/import",
        file_import.import_any,
        Access.OWNER,
        "Import any file a source reads (OFX, QIF, CAMT, Takeout, Facebook, CSV, JSON "
        "Lines), its format detected; answers what was stored per doctype and series.",
        "documents",
        "application/octet-stream",
        query=("name", "file"),
    ),
    # -- owner's control: the GDPR export (docs/export-format.md), backups and restore
    # (docs/backups.md)
    Route(
        "POST",
        API + "/export",
        archive.export_all,
        Access.OWNER,
        "Everything in one archive, streamed: JSON Lines, CSV, original files (format "
        "selfdata or cozy; a passphrase seals it). Recorded in the ledger.",
        "archive",
        JSON,
    ),
    Route(
        "POST",
        API + "/export/tickets",
        archive.export_ticket,
        Access.OWNER,
        "The same options as POST /export; answers a one-time link (`url`, valid a minute, "
        "for this session) that streams the archive as a download: what the web UI uses, "
        "so a browser saves it to disk as it arrives.",
        "archive",
        JSON,
    ),
    Route(
        "GET",
        API + "/export/{ticket:[A-Za-z0-9_-]+}",
        archive.export_download,
        Access.OWNER,
        "Follow a link from POST /export/tickets: the archive, once. Recorded in the ledger.",
        "archive",
    ),
    Route(
        "POST",
        API + "/archive/import",
        archive.import_archive,
        Access.OWNER,
        "Import a selfdata export (sealed: its passphrase in X-Selfdata-Export-Passphrase), "
        "a Cozy export or a MesInfos file; verified first, idempotent.",
        "archive",
        "application/octet-stream",
        query=("name",),
    ),
    Route(
        "GET",
        API + "/backups",
        backup.list_targets,
        Access.OWNER,
        "Backup targets: URL, schedule, retention, last result (secrets never shown).",
        "backups",
    ),
    Route(
        "PUT",
        _BACKUP,
        backup.put_target,
        Access.OWNER,
        "Add or change a backup target (directory, sftp://, s3://); reaches it first.",
        "backups",
        JSON,
    ),
    Route(
        "DELETE",
        _BACKUP,
        backup.delete_target,
        Access.OWNER,
        "Forget a backup target (the backups on it stay).",
        "backups",
    ),
    Route(
        "POST",
        _BACKUP + "/run",
        backup.run_backup_now,
        Access.OWNER,
        "Back up now: send what is new, test-restore a sample, apply the retention policy.",
        "backups",
    ),
    Route(
        "GET",
        _BACKUP + "/snapshots",
        backup.list_snapshots,
        Access.OWNER,
        "The snapshots on a target.",
        "backups",
    ),
    Route(
        "POST",
        API + "/restore",
        backup.restore_box,
        Access.PUBLIC,
        "First run: restore a backup onto this fresh box with the recovery key (over TCP "
        'with the setup code); with "list": true, only its snapshots.',
        "backups",
        JSON,
    ),
    # -- owner's control: the consent ledger (docs/ledger.md), verifiable answers
    # (docs/answers.md) and open-data contribution (docs/contribution.md)
    Route(
        "GET",
        API + "/ledger",
        ledger.ledger_entries,
        Access.OWNER,
        "The consent ledger, newest first, each entry in plain words (?before= pages).",
        "ledger",
        query=("limit", "before"),
    ),
    Route(
        "GET",
        API + "/ledger/verify",
        ledger.verify_ledger,
        Access.OWNER,
        "Check the ledger's hash chain and signatures; names the first entry that breaks.",
        "ledger",
        query=("key", "head"),
    ),
    Route(
        "GET",
        API + "/ledger/key",
        ledger.ledger_key,
        Access.OWNER,
        "The box's Ed25519 public key (and its id), which signs the ledger and answers.",
        "ledger",
    ),
    Route(
        "GET",
        API + "/answers/templates",
        answers.list_templates,
        Access.OWNER,
        "The question templates a third party may use, with their parameters.",
        "answers",
    ),
    Route(
        "GET",
        API + "/answers",
        answers.list_requests,
        Access.OWNER,
        "Third parties' questions: pending ones first, then the answered and refused.",
        "answers",
    ),
    Route(
        "POST",
        API + "/answers",
        answers.submit_request,
        Access.OWNER,
        "Add a third party's request (the JSON they gave the owner); answers its preview.",
        "answers",
        JSON,
    ),
    Route(
        "GET",
        _ANSWER,
        answers.get_request,
        Access.OWNER,
        "One request; while pending, exactly what approving it would reveal.",
        "answers",
    ),
    Route(
        "POST",
        _ANSWER + "/approve",
        answers.approve_request,
        Access.OWNER,
        "Approve with the answer and period the owner saw: signs, records and returns it.",
        "answers",
        JSON,
    ),
    Route(
        "POST",
        _ANSWER + "/refuse",
        answers.refuse_request,
        Access.OWNER,
        "Refuse a request: nothing leaves the box; the refusal is recorded.",
        "answers",
    ),
    Route(
        "GET",
        _ANSWER + "/statement",
        answers.get_statement,
        Access.OWNER,
        "The signed statement of an approved request, as a file for the requester.",
        "answers",
    ),
    Route(
        "GET",
        API + "/contribution",
        contribution.contribution_status,
        Access.OWNER,
        "Open-data contribution: settings, the pending preview, the months already sent.",
        "contribution",
    ),
    Route(
        "PUT",
        API + "/contribution/settings",
        contribution.set_contribution,
        Access.OWNER,
        "Opt in or out; set the collector, area, ε and k. Recorded in the ledger.",
        "contribution",
        JSON,
    ),
    Route(
        "POST",
        API + "/contribution/preview",
        contribution.preview_contribution,
        Access.OWNER,
        "Compute the exact payload that would be sent (noise drawn once) and keep it.",
        "contribution",
        JSON,
    ),
    Route(
        "DELETE",
        API + "/contribution/preview",
        contribution.discard_preview,
        Access.OWNER,
        "Forget the pending preview.",
        "contribution",
    ),
    Route(
        "POST",
        API + "/contribution/send",
        contribution.send_contribution,
        Access.OWNER,
        "Send the previewed payload, given its SHA-256: the owner's consent. Recorded.",
        "contribution",
        JSON,
    ),
    # -- the web UI's pages (HTML; docs/webui.md): the same access rules as the API. Public:
    # only what setting up and unlocking need; everything else needs a session.
    Route("GET", "/setup", vault_pages.setup_page, Access.PUBLIC, "First-run setup page.", "pages"),
    Route(
        "GET", "/unlock", vault_pages.unlock_page, Access.PUBLIC, "Unlock / sign-in page.", "pages"
    ),
    Route(
        "GET",
        "/recover",
        vault_pages.recover_page,
        Access.PUBLIC,
        "Forgotten passphrase: set a new one with the recovery key.",
        "pages",
    ),
    Route(
        "GET",
        "/static/{path:[A-Za-z0-9._/-]+}",
        serve_static,
        Access.PUBLIC,
        "The web UI's own CSS, scripts and icons (no data).",
        "pages",
    ),
    Route("GET", "/", home.home_page, Access.OWNER, "Home page.", "pages"),
    Route(
        "GET",
        "/welcome",
        vault_pages.welcome_page,
        Access.OWNER,
        "After setup: next steps.",
        "pages",
    ),
    Route(
        "GET",
        "/connectors",
        connectors.connectors_page,
        Access.OWNER,
        "Sources: your sources, what needs you, the catalogue, file imports.",
        "pages",
    ),
    Route(
        "GET",
        "/connectors/add",
        connectors.add_page,
        Access.OWNER,
        "Add a source: the form generated from the connector's manifest.",
        "pages",
        query=("connector",),
    ),
    Route(
        "GET",
        "/connectors/source",
        connectors.source_page,
        Access.OWNER,
        "One source: status, what it needs, run now with live progress, its runs.",
        "pages",
        query=("account",),
    ),
    Route(
        "GET",
        "/connectors/run",
        connectors.run_page,
        Access.OWNER,
        "One run: outcome, counts and its log.",
        "pages",
        query=("run",),
    ),
    Route(
        "GET", "/data", data.data_page, Access.OWNER, "Data browser: doctypes and series.", "pages"
    ),
    Route(
        "GET",
        "/data/{doctype}",
        data.doctype_page,
        Access.OWNER,
        "Data browser: search, filter and page through a doctype.",
        "pages",
        query=("q", "field", "value", "cursor", "limit"),
    ),
    Route(
        "GET",
        "/data/{doctype}/{doc_id}",
        data.document_page,
        Access.OWNER,
        "Data browser: one document.",
        "pages",
    ),
    Route("GET", "/settings", settings.settings_page, Access.OWNER, "Settings page.", "pages"),
    Route(
        "POST",
        "/settings/recovery-key/check",
        settings.check_recovery_key,
        Access.OWNER,
        "Check a recovery key against the vault, changing nothing.",
        "pages",
        JSON,
    ),
    Route(
        "GET",
        "/apps/logis",
        apps.logis_page,
        Access.OWNER,
        "Mon Logis: the home dashboard.",
        "pages",
    ),
    Route(
        "GET",
        "/apps/energy",
        apps.energy_page,
        Access.OWNER,
        "Énergie: consumption, cost by tariff, weather.",
        "pages",
        query=("series", "view"),
    ),
    Route(
        "GET",
        "/apps/budget",
        apps.budget_page,
        Access.OWNER,
        "Budget: operations by month and category, recurring bills.",
        "pages",
        query=("month",),
    ),
    # the owner's control (docs/webui.md): what left the box, answers, contribution,
    # backups and the export; their writes are the JSON API's routes above
    Route(
        "GET",
        "/privacy",
        privacy.ledger_page,
        Access.OWNER,
        "What left the box: the consent ledger in plain words, and checking it.",
        "pages",
        query=("before",),
    ),
    Route(
        "GET",
        "/privacy/answers",
        answer_pages.answers_page,
        Access.OWNER,
        "Answer requests: third parties' yes/no questions, and adding one.",
        "pages",
    ),
    Route(
        "GET",
        "/privacy/answer",
        answer_pages.answer_page,
        Access.OWNER,
        "One answer request: what would leave, approve or refuse, the signed statement.",
        "pages",
        query=("request",),
    ),
    Route(
        "GET",
        "/privacy/contribution",
        privacy.contribution_page,
        Access.OWNER,
        "Open-data contribution: opt in, preview the exact payload, send or discard.",
        "pages",
    ),
    Route(
        "GET",
        "/settings/backups",
        backups.backups_page,
        Access.OWNER,
        "Backups: targets, their last result, run now, snapshots.",
        "pages",
    ),
    Route(
        "GET",
        "/settings/export",
        backups.export_page,
        Access.OWNER,
        "Export everything (GDPR art. 20): the whole archive, sealed or in Cozy's layout.",
        "pages",
    ),
)


def add_routes(app: web.Application) -> None:
    for route in ROUTES:
        resource = app.router.add_resource(route.path)
        resource.add_route(route.method, route.handler)
