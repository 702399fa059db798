"""The web UI: server-rendered pages (Jinja2), a little JavaScript, charts by uPlot.

:func:`setup_webui` mounts it on the API's application: templates, translations and the
static files. The page routes themselves are in :mod:`selfdata.api.routes`, next to the
API's, so the same access rules (and the same router walk in the tests) cover both.
See docs/webui.md.
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["setup_webui"]


def setup_webui(app: web.Application) -> None:
    from .assets import ASSETS, load_assets  # noqa: PLC0415 - keep `import selfdata` light
    from .i18n import catalog  # noqa: PLC0415
    from .render import setup_templates  # noqa: PLC0415

    app[ASSETS] = load_assets()
    setup_templates(app)
    catalog("fr")  # read the French catalogue now: a broken one fails at start, not per page
