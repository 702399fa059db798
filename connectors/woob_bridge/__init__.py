"""The woob bridge: installed woob modules with bank or bill capabilities as connectors.

woob (https://woob.tech, ``pip install 'selfdata[woob]'``) has modules for French banks,
Ameli, telecom and energy suppliers. Each importable ``woob_modules.<name>`` with
``CapBank`` or ``CapDocument`` is offered as the connector ``woob-<name>``
(:mod:`.modules`), run by :class:`~.bridge.Bridge`. Without woob, nothing is offered and
nothing of woob is imported.

Attributes are resolved lazily (PEP 562), so importing this package costs nothing:

* ``CONNECTORS`` — one :class:`~.bridge.Bridge` per usable module (the catalogue asks);
* ``CONNECTOR_PROBLEMS`` — the modules that did not load, and why;
* ``bridges.<name>`` — the bridge of one module, loading only that module (a run asks).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["bridges"]


class _Bridges:
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from .bridge import Bridge  # noqa: PLC0415 - only when a run asks
        from .modules import load  # noqa: PLC0415

        module = load(name)
        if not (module.bank or module.documents):
            raise AttributeError(f"woob module {name} has neither CapBank nor CapDocument")
        return Bridge(module)


bridges = _Bridges()


@functools.cache
def _catalogue() -> tuple[tuple[Any, ...], tuple[str, ...]]:
    from .modules import available, load, module_names  # noqa: PLC0415

    if not available():
        return (), ()
    from .bridge import Bridge  # noqa: PLC0415

    found: list[Any] = []
    problems: list[str] = []
    for name in module_names():
        try:
            module = load(name)
        except Exception as err:  # one broken module must not hide the others
            problems.append(f"woob module {name}: does not load ({type(err).__name__}: {err})")
            continue
        if module.bank or module.documents:
            found.append(Bridge(module))
    return tuple(found), tuple(problems)


def __getattr__(name: str) -> Any:
    if name == "CONNECTORS":
        return _catalogue()[0]
    if name == "CONNECTOR_PROBLEMS":
        return _catalogue()[1]
    raise AttributeError(name)
