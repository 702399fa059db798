"""Google "My Activity" (``My Activity/<Product>/MyActivity.json``) → documents.

Each product's file is a JSON array of entries such as::

    {"header": "Search", "title": "Searched for météo lyon",
     "titleUrl": "https://www.google.com/search?q=m%C3%A9t%C3%A9o+lyon",
     "time": "2024-01-05T08:12:33.123Z", "products": ["Search"],
     "activityControls": ["Web & App Activity"]}

They become ``selfdata.google.activity`` documents with the same field names; the id
comes from the time and the entry itself, so a later, overlapping Takeout adds only
what is new.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..sinks import Document, Problem, stable_id
from ..timestamps import epoch_of, iso_utc

__all__ = ["ACTIVITY", "from_my_activity"]

ACTIVITY = "selfdata.google.activity"
_TEXT = ("header", "title", "titleUrl", "description")
_LISTS = ("products", "activityControls", "subtitles", "details", "locationInfos")


def from_my_activity(items: Iterable[Any], where: str) -> Iterator[Document | Problem]:
    for n, item in enumerate(items):
        if isinstance(item, Problem):
            yield item
            continue
        here = f"{where} entry {n}"
        if not isinstance(item, dict):
            yield Problem(here, "not a JSON object")
            continue
        ts = epoch_of(item.get("time"))
        title = item.get("title")
        if ts is None or not isinstance(title, str):
            yield Problem(here, "an entry without a valid time and title")
            continue
        doc: dict[str, Any] = {"time": iso_utc(ts)}
        for key in _TEXT:
            if isinstance(value := item.get(key), str) and value:
                doc[key] = value
        for key in _LISTS:
            if isinstance(value := item.get(key), list) and value:
                doc[key] = value
        doc["_id"] = stable_id(
            "activity", ts, doc.get("header"), title, doc.get("titleUrl"), doc.get("subtitles")
        )
        yield Document(ACTIVITY, doc)
