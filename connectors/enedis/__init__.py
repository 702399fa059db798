"""Enedis electricity: three routes to the same Linky data, writing the same series.

* :mod:`.conso_api` — Conso API (conso.boris.sh), a citizen gateway, token auth;
* :mod:`.myelectricaldata` — myElectricalData, a citizen gateway with a daily quota;
* :mod:`.dataconnect` — Enedis Data Connect v5 for an organisation (OAuth2).

Series (``{prm}`` is the meter's 14-digit number), timestamps in UTC epoch seconds:

* ``enedis/daily_consumption/{prm}`` — Wh per day, at the local (Paris) midnight;
* ``enedis/daily_production/{prm}`` — Wh per day, idem;
* ``enedis/load_curve/{prm}`` — Wh per interval (10 to 60 min), at the interval's start;
* ``enedis/max_power/{prm}`` — VA, at the moment the day's maximum was reached.

Whichever route brings them, a day is one timestamp: switching routes never duplicates.
"""

from __future__ import annotations

from . import conso_api, dataconnect, myelectricaldata

__all__ = ["CONNECTORS"]

#: Each module has ``MANIFEST`` and ``sync``.
CONNECTORS = (conso_api, myelectricaldata, dataconnect)
