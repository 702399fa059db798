"""Which connectors this box has: built-in modules and installed entry points, alike.

Built-in connectors are the modules and packages of ``selfdata.connectors`` that export
a ``MANIFEST`` (or ``CONNECTORS``, a tuple of such modules, or of objects with a
``MANIFEST`` whose ``__module__`` and ``__qualname__`` find them again, as pickle does —
the woob bridge's; and ``CONNECTOR_PROBLEMS``, what could not be offered); third-party ones are found
through the ``selfdata.connectors`` entry-point group (``name = "module"`` or
``"module:object"``). The daemon never imports connector code itself: discovery runs
in a sandboxed child process (:func:`discover`) that sends back each manifest as JSON.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import pkgutil
import traceback
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ...errors import NotFound
from ..sdk import Manifest
from .process import RunLog, run_child

__all__ = ["GROUP", "ConnectorSpec", "Registry", "discover", "scan"]

GROUP = "selfdata.connectors"
log = logging.getLogger("selfdata.connectors")
#: Modules of selfdata.connectors that are the SDK and shared helpers, not connectors.
_NOT_CONNECTORS = {
    "sdk", "runtime", "sinks", "meters", "json_stream", "safe_zip", "timestamps", "numbers",
    "files", "history", "ecolyo",
}  # fmt: skip


@dataclass(frozen=True)
class ConnectorSpec:
    manifest: Manifest
    #: Importable module, and attribute path inside it (entry points ``module:object``).
    module: str
    attr: str | None = None
    #: ``"builtin"`` or ``"entry point from <distribution>"``.
    origin: str = "builtin"
    sync: bool = True
    probe: bool = False
    file_source: bool = False

    @property
    def id(self) -> str:
        return self.manifest.id

    def to_json(self) -> dict[str, Any]:
        return {
            **self.manifest.to_json(),
            "module": self.module,
            "attr": self.attr,
            "origin": self.origin,
            "can_sync": self.sync,
            "can_probe": self.probe,
            "file_source": self.file_source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConnectorSpec:
        return cls(
            manifest=Manifest.from_json(data),
            module=str(data["module"]),
            attr=data.get("attr"),
            origin=str(data.get("origin", "builtin")),
            sync=bool(data.get("can_sync", True)),
            probe=bool(data.get("can_probe", False)),
            file_source=bool(data.get("file_source", False)),
        )


@dataclass
class Registry:
    specs: dict[str, ConnectorSpec] = field(default_factory=dict)
    #: Modules that failed to import or declared a bad manifest (logged, not fatal).
    problems: list[str] = field(default_factory=list)

    def get(self, connector_id: str) -> ConnectorSpec:
        try:
            return self.specs[connector_id]
        except KeyError:
            raise NotFound(
                f"no connector {connector_id!r} in this box (`selfdata connectors list "
                "--available` lists them)"
            ) from None

    def all(self) -> list[ConnectorSpec]:
        return sorted(
            self.specs.values(), key=lambda s: (s.manifest.category, s.manifest.name.lower())
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Registry:
        registry = cls(problems=[str(p) for p in data.get("problems", [])])
        for item in data.get("connectors", []):
            try:
                spec = ConnectorSpec.from_json(item)
            except (KeyError, TypeError, ValueError) as err:
                registry.problems.append(f"a manifest could not be read: {err}")
                continue
            registry.specs.setdefault(spec.id, spec)
        return registry


async def discover(
    *,
    builtin: bool = True,
    installed: bool = True,
    extra: Sequence[str] = (),
    protect: Sequence[Path] = (),
    timeout: float = 120.0,  # noqa: ASYNC109 - the child's limit
) -> Registry:
    """Import every connector in a sandboxed child and read their manifests.

    ``installed=False`` leaves out entry points (tests do, to be independent of what is
    installed); ``extra`` names more modules (``"module"`` or ``"module:object"``).
    """
    out = RunLog()
    done = await run_child(
        {
            "mode": "catalogue",
            "connector": "",
            "module": "",
            "builtin": builtin,
            "installed": installed,
            "extra": list(extra),
        },
        serve=_no_requests,
        log_to=out,
        timeout=timeout,
        protect=protect,
        read_extra=_entry_point_dirs() if installed else (),
    )
    if done.get("outcome") != "ok" or not isinstance(done.get("result"), dict):
        lines = "; ".join(line["message"] for line in out.lines[-5:])
        problem = f"connector discovery failed: {done.get('message', '?')} {lines}".strip()
        log.error("%s", problem)
        return Registry(problems=[problem])
    registry = Registry.from_json(done["result"])
    for problem in registry.problems:
        log.warning("%s", problem)
    return registry


async def _no_requests(message: dict[str, Any]) -> dict[str, Any] | None:
    from .process import Refused  # noqa: PLC0415 - tiny, avoids a cycle in typing

    raise Refused("discovery writes nothing")


def _entry_point_dirs() -> list[str]:
    """Where installed connectors' code lives (found without importing it)."""
    dirs: set[str] = set()
    for entry in entry_points(group=GROUP):
        top = entry.value.split(":")[0].split(".")[0].strip()
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        for location in spec.submodule_search_locations or [spec.origin or ""]:
            if location:
                real = os.path.realpath(location)
                dirs.add(real if os.path.isdir(real) else os.path.dirname(real))
    return sorted(dirs)


# --- in the child -------------------------------------------------------------------------


def scan(builtin: bool, installed: bool, extra: Iterable[str]) -> dict[str, Any]:
    """Import the connectors and describe them (runs inside the sandboxed child)."""
    found: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()

    def add(target: Any, module: str, attr: str | None, origin: str) -> None:
        subs = getattr(target, "CONNECTORS", None)
        if subs is not None and not hasattr(target, "MANIFEST"):
            problems.extend(str(p) for p in getattr(target, "CONNECTOR_PROBLEMS", ()))
            for sub in subs:
                if isinstance(sub, types.ModuleType):
                    add(sub, sub.__name__, None, origin)
                else:  # an object, found again by its module and qualified name (as pickle)
                    add(sub, sub.__module__, sub.__qualname__, origin)
            return
        manifest = getattr(target, "MANIFEST", None)
        if not isinstance(manifest, Manifest):
            if origin != "builtin":
                problems.append(f"{module}: no MANIFEST (a selfdata.connectors.sdk.Manifest)")
            return
        if manifest.id in seen:
            problems.append(f"{module}: connector id {manifest.id!r} is already taken")
            return
        can_sync = callable(getattr(target, "sync", None))
        is_file = callable(getattr(target, "detect", None)) and callable(
            getattr(target, "ingest", None)
        )
        if not (can_sync or is_file):
            problems.append(f"{module}: {manifest.id} has neither sync() nor detect()/ingest()")
            return
        seen.add(manifest.id)
        found.append(
            ConnectorSpec(
                manifest, module, attr, origin, can_sync,
                callable(getattr(target, "probe", None)), is_file,
            ).to_json()
        )  # fmt: skip

    def load(module: str, attr: str | None, origin: str) -> None:
        try:
            target: Any = importlib.import_module(module)
            for part in (attr or "").split("."):
                if part:
                    target = getattr(target, part)
        except Exception as err:
            last = traceback.format_exception_only(type(err), err)[-1].strip()
            problems.append(f"{module}: does not import ({last})")
            return
        try:
            add(target, module, attr, origin)
        except Exception as err:
            problems.append(f"{module}: {type(err).__name__}: {err}")

    if builtin:
        package = importlib.import_module("selfdata.connectors")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name not in _NOT_CONNECTORS and not info.name.startswith("_"):
                load(f"{package.__name__}.{info.name}", None, "builtin")
    for value in extra:
        module, _, attr = value.partition(":")
        load(module.strip(), attr.strip() or None, "extra")
    if installed:
        for entry in entry_points(group=GROUP):
            module, _, attr = entry.value.partition(":")
            dist = entry.dist.name if entry.dist is not None else "?"
            load(module.strip(), attr.strip() or None, f"entry point from {dist}")
    return {"connectors": found, "problems": problems}
