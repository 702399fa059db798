"""One woob module as a connector: its manifest, and a run that drives the module.

A run builds the module's backend with the account's values, then, in worker threads
(woob is synchronous and makes its own HTTP requests):

* CapBank: every account, its balance and its booked history → the statements' store
  (deduplicated like an OFX import); pending operations are counted, not stored;
* CapDocument: every subscription's documents; a document's file is downloaded once
  (``ctx.state`` remembers it) and stored with ``save_file``; a bill becomes an
  ``io.cozy.bills`` document pointing at it.

woob's exceptions become the SDK's (:mod:`.errors`). The account's ``site`` base URL,
when changed, replaces the browser's ``BASEURL`` (a sandbox, or the tests' fake bank).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..bank.store import store_bank_items
from ..meters import local_today
from ..sdk import Context, Manifest
from ..sinks import IngestReport
from .errors import translate
from .mapping import BILLS, bank_items, bill_document, file_name, value
from .modules import WoobModule

__all__ = ["Bridge"]

_PACKAGE = "selfdata.connectors.woob_bridge"
_MIME = {"pdf": "application/pdf", "html": "text/html", "txt": "text/plain"}


class Bridge:
    """A woob module presented as a connector module (``MANIFEST`` and ``sync``).

    It is found again in the run's child process from ``__module__`` and
    ``__qualname__`` (``selfdata.connectors.woob_bridge`` + ``bridges.<name>``), the way
    pickle finds an object: only that woob module is loaded for a run.
    """

    def __init__(self, module: WoobModule) -> None:
        self.module = module
        self.MANIFEST: Manifest = module.manifest()
        self.__module__ = _PACKAGE
        self.__qualname__ = f"bridges.{module.name}"

    async def sync(self, ctx: Context) -> None:
        await _run(ctx, self.module)


async def _run(ctx: Context, module: WoobModule) -> None:
    from woob.core.woob import WoobBase  # noqa: PLC0415 - woob is an optional extra

    _route_woob_logs(ctx.log)
    default_site = module.site
    site = ctx.url("site") if default_site else None
    config = {k: v for k, v in ctx.credentials.items() if v != ""}
    woob = WoobBase(modules_path=module.directory)
    backend: Any = None
    report = IngestReport(f"woob module {module.name}", "woob")
    try:
        backend = await asyncio.to_thread(
            woob.build_backend, module.name, config, None, module.name
        )
        if site and site != default_site:
            browser = await asyncio.to_thread(lambda: backend.browser)
            browser.BASEURL = site.rstrip("/") + "/"
        institution = str(getattr(module.klass, "DESCRIPTION", "") or module.name)
        if module.bank:
            today = local_today(ctx.now())
            items = bank_items(backend, module.name, institution, today)
            await store_bank_items(ctx, report, items, f"woob:{module.name}")
        if module.documents:
            await _documents(ctx, backend, module, institution)
    except Exception as err:
        translated = translate(err, module.site)
        if translated is not None:
            raise translated from err
        raise
    finally:
        if backend is not None:
            await asyncio.to_thread(_quietly, backend.deinit)
        await asyncio.to_thread(_quietly, woob.deinit)
    for problem in report.problems[:20]:
        ctx.log.warning("%s: %s", problem.where, problem.message)
    for note in report.notes:
        ctx.log.info("%s", note)


async def _documents(ctx: Context, backend: Any, module: WoobModule, vendor: str) -> None:
    known: dict[str, str] = ctx.state.setdefault("woob_files", {})
    subscriptions = await asyncio.to_thread(_listed, backend.iter_subscription)
    done = 0
    for subscription in subscriptions:
        documents = await asyncio.to_thread(_listed, backend.iter_documents, subscription)
        bills = []
        for document in documents:
            key = f"{subscription.id}/{document.id}"
            file_id = known.get(key)
            if file_id is None and value(document, "has_file") is not False:
                content = await asyncio.to_thread(backend.download_document, document)
                if isinstance(content, bytes | bytearray) and content:
                    fmt = str(value(document, "format") or "pdf").lower()
                    file_id = await ctx.save_file(
                        file_name(document, module.name),
                        bytes(content),
                        mime=_MIME.get(fmt, "application/octet-stream"),
                        metadata={"woobModule": module.name, "documentId": str(document.id)},
                    )
                    known[key] = file_id  # moved after the file is stored: resumable
            bill = bill_document(document, subscription, module.name, vendor, file_id)
            if bill is not None:
                bills.append(bill)
        if bills:
            await ctx.save(BILLS, bills)
        done += len(documents)
        await ctx.progress(done, None, f"{done} documents")


def _listed(method: Any, *args: Any) -> list[Any]:
    return list(method(*args))


def _route_woob_logs(log: logging.Logger) -> None:
    """woob's own log lines go to the run's log (INFO and up: DEBUG may show bodies)."""
    woob_log = logging.getLogger("woob")
    woob_log.setLevel(logging.INFO)
    woob_log.propagate = False
    woob_log.handlers[:] = list(log.handlers)


def _quietly(close: Any) -> None:
    try:
        close()
    except Exception:  # a module failing to log out must not hide the run's outcome
        logging.getLogger("selfdata.connector").debug("woob deinit failed", exc_info=True)
