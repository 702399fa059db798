"""GRDF gas (Gazpar meters): two routes to the same daily readings and series.

* :mod:`.adict` — ADICT, GRDF's API for an organisation acting as trusted third party
  (OAuth2 client credentials, NDJSON answers);
* :mod:`.web` — the household's own customer account (e-mail and password).

See :mod:`.readings` for the series, their units and the kWh/m³ conversion.
"""

from __future__ import annotations

from . import adict, web

__all__ = ["CONNECTORS"]

CONNECTORS = (adict, web)
