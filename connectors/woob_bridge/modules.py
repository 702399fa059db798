"""Installed woob modules, and the manifest each becomes.

A woob module is "installed" for the box when Python can import it as
``woob_modules.<name>``: modules installed with pip, or a modules directory on the
daemon's Python path (docs/sources/woob.md says how). The sandboxed child that runs a
connector reads only the daemon's Python path, so that is also all it can load.

Each module with ``CapBank`` or ``CapDocument`` becomes a connector ``woob-<name>``:

* its ``CONFIG`` values become the credential fields (a ``ValueBackendPassword`` or a
  masked value a secret; ``choices`` a select; ``ValueBool`` a yes/no select; transient
  values — one-time codes asked during a login — are left out: the box cannot answer
  them, and the run asks the owner to act instead);
* CapBank → ``io.cozy.bank.accounts``/``io.cozy.bank.operations``; CapDocument →
  ``io.cozy.bills`` and files;
* its browser's ``BASEURL`` becomes the base URL ``site``, overridable per account.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
from dataclasses import dataclass
from typing import Any

from ..bank.store import ACCOUNTS, OPERATIONS
from ..sdk import CredentialField, Manifest, RateLimit
from .mapping import BILLS

__all__ = ["WoobModule", "available", "load", "module_names"]

PACKAGE = "woob_modules"
_NOT_ID = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class WoobModule:
    name: str
    #: The module's ``Module`` subclass.
    klass: Any
    #: The ``woob_modules`` directory that holds it.
    directory: str
    bank: bool
    documents: bool

    @property
    def connector_id(self) -> str:
        return f"woob-{_NOT_ID.sub('-', self.name.lower()).strip('-')[:40]}"

    @property
    def site(self) -> str | None:
        browser = getattr(self.klass, "BROWSER", None)
        base = getattr(browser, "BASEURL", None)
        return base if isinstance(base, str) and base.startswith(("https://", "http://")) else None

    def manifest(self) -> Manifest:
        description = str(getattr(self.klass, "DESCRIPTION", "") or self.name)
        doctypes: tuple[str, ...] = ()
        if self.bank:
            doctypes += (ACCOUNTS, OPERATIONS)
        if self.documents:
            doctypes += (BILLS,)
        what = " and ".join(
            w for w, on in (("accounts and operations", self.bank), ("bills", self.documents)) if on
        )
        site = self.site
        return Manifest(
            id=self.connector_id,
            name=f"{description} (woob)",
            vendor=str(getattr(self.klass, "MAINTAINER", "") or "woob"),
            description=f"{what[:1].upper()}{what[1:]} through the woob module {self.name!r} "
            f"({getattr(self.klass, 'LICENSE', '?')}).",
            doctypes=doctypes,
            files=self.documents,
            credentials=tuple(_fields(self.klass)),
            schedule="every 1d",
            # woob's browser makes its own requests; this limits only ctx.http (unused)
            rate_limit=RateLimit(requests=1, per_seconds=1),
            base_urls={"site": site} if site else {},
            category="bank" if self.bank else "utilities",
            timeout_seconds=30 * 60,
            help_url=site,
        )


def available() -> bool:
    """Whether woob is installed (the bridge is offered only then)."""
    return importlib.util.find_spec("woob") is not None


def module_names() -> list[str]:
    """Names of the importable ``woob_modules.*`` (without importing them)."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        return []
    return sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_") and not info.name.endswith("_")
    )


def load(name: str) -> WoobModule:
    """Load one woob module with woob's own loader (its version checks included)."""
    import woob  # noqa: PLC0415 - woob is an optional extra
    from woob.capabilities.bank import CapBank  # noqa: PLC0415
    from woob.capabilities.bill import CapDocument  # noqa: PLC0415
    from woob.core.modules import ModulesLoader  # noqa: PLC0415

    spec = importlib.util.find_spec(f"{PACKAGE}.{name}")
    if spec is None or spec.origin is None:
        raise ImportError(f"no woob module {name!r}")
    directory = os.path.dirname(os.path.dirname(spec.origin))
    if spec.submodule_search_locations is None:  # a one-file module: woob_modules/x.py
        directory = os.path.dirname(spec.origin)
    loaded = ModulesLoader(directory, woob.__version__).get_or_load_module(name)
    klass = loaded.klass
    return WoobModule(
        name=name,
        klass=klass,
        directory=directory,
        bank=issubclass(klass, CapBank),
        documents=issubclass(klass, CapDocument),
    )


def _fields(klass: Any) -> list[CredentialField]:
    from woob.tools.value import (  # noqa: PLC0415
        ValueBackendPassword,
        ValueBool,
        ValueFloat,
        ValueInt,
        ValueTransient,
    )

    fields = []
    for key, config in klass.CONFIG.items():
        if isinstance(config, ValueTransient) or getattr(config, "transient", False):
            continue  # asked during a login: the box cannot answer
        label = str(config.label or key)
        default = config.default
        options: tuple[str, ...] = ()
        if isinstance(config, ValueBackendPassword) or config.masked:
            kind = "secret"
            default = None
        elif isinstance(config, ValueBool):
            kind, options = "select", ("yes", "no")
            default = "yes" if default else "no"
        elif config.choices:
            kind, options = "select", tuple(str(c) for c in config.choices)
        elif isinstance(config, ValueInt | ValueFloat):
            kind = "number"
        else:
            kind = "text"
        choices = config.choices or {}
        help_text = "; ".join(f"{k}: {v}" for k, v in choices.items() if str(k) != str(v))
        fields.append(
            CredentialField(
                name=str(key),
                label=label[:200],
                kind=kind,  # type: ignore[arg-type]
                help=help_text[:500] if kind == "select" else "",
                required=bool(config.required),
                options=options,
                default=None if default in (None, "") else str(default),
            )
        )
    return fields
