"""Facebook's JSON records → ``selfdata.facebook.*`` documents.

Three kinds of files, in the folders of the 2019–2024 layouts (older exports put
``messages/`` and ``posts/`` at the top, newer ones under ``your_activity_across_facebook/``):

* ``messages/<inbox|archived_threads|…>/<thread>/message_N.json``:
  ``{"participants": [...], "messages": [{"sender_name", "timestamp_ms", "content",
  "photos", "share", "reactions"}], "title", "thread_path"}``;
* ``posts/your_posts_N.json`` (or ``your_posts__check_ins__photos_and_videos_N.json``):
  ``[{"timestamp", "data": [{"post": "..."}], "title", "attachments"}]``;
* ``friends.json`` / ``your_friends.json``: ``{"friends_v2": [{"name", "timestamp"}]}``.

Every string passes through :func:`.mojibake.repair_all` first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from ..sinks import Document, Problem, stable_id
from ..timestamps import epoch_of, iso_utc
from .mojibake import repair_all

__all__ = ["FRIENDS", "MESSAGES", "POSTS", "from_friends", "from_messages", "from_posts"]

MESSAGES = "selfdata.facebook.messages"
POSTS = "selfdata.facebook.posts"
FRIENDS = "selfdata.facebook.friends"


def from_messages(items: Iterable[Any], thread: str, where: str) -> Iterator[Document | Problem]:
    seen: Counter[tuple[object, ...]] = Counter()
    for n, raw in enumerate(items):
        if isinstance(raw, Problem):
            yield raw
            continue
        here = f"{where} message {n}"
        if not isinstance(raw, dict):
            yield Problem(here, "not a JSON object")
            continue
        item = repair_all(raw)
        ts = epoch_of(item.get("timestamp_ms"))
        if ts is None:
            yield Problem(here, "no valid timestamp_ms")
            continue
        doc: dict[str, Any] = {"thread": thread, "time": iso_utc(ts)}
        _copy(doc, "sender", item.get("sender_name"))
        _copy(doc, "text", item.get("content"))
        if isinstance(item.get("type"), str) and item["type"] != "Generic":
            doc["type"] = item["type"]
        media = [
            m["uri"]
            for key in ("photos", "videos", "audio_files", "files", "gifs")
            for m in (item.get(key) if isinstance(item.get(key), list) else [])
            if isinstance(m, dict) and isinstance(m.get("uri"), str)
        ]
        if media:
            doc["media"] = media
        if isinstance(share := item.get("share"), dict) and isinstance(share.get("link"), str):
            doc["link"] = share["link"]
        if isinstance(reactions := item.get("reactions"), list) and reactions:
            doc["reactions"] = [r for r in reactions if isinstance(r, dict)]
        key = (thread, item.get("timestamp_ms"), doc.get("sender"), doc.get("text"), tuple(media))
        doc["_id"] = stable_id("facebook-message", *key, seen[key])
        seen[key] += 1
        yield Document(MESSAGES, doc)


def from_posts(items: Iterable[Any], where: str) -> Iterator[Document | Problem]:
    for n, raw in enumerate(items):
        if isinstance(raw, Problem):
            yield raw
            continue
        here = f"{where} post {n}"
        if not isinstance(raw, dict):
            yield Problem(here, "not a JSON object")
            continue
        item = repair_all(raw)
        ts = _seconds(item.get("timestamp"))
        if ts is None:
            yield Problem(here, "no valid timestamp")
            continue
        doc: dict[str, Any] = {"time": iso_utc(ts)}
        texts = [
            d["post"]
            for d in (item.get("data") if isinstance(item.get("data"), list) else [])
            if isinstance(d, dict) and isinstance(d.get("post"), str)
        ]
        if texts:
            doc["text"] = "\n".join(texts)
        _copy(doc, "title", item.get("title"))
        links, media, place = _attachments(item.get("attachments"))
        if links:
            doc["links"] = links
        if media:
            doc["media"] = media
        if place:
            doc["place"] = place
        doc["_id"] = stable_id("facebook-post", ts, doc.get("text"), doc.get("title"))
        yield Document(POSTS, doc)


def from_friends(items: Iterable[Any], where: str) -> Iterator[Document | Problem]:
    for n, raw in enumerate(items):
        if isinstance(raw, Problem):
            yield raw
            continue
        here = f"{where} friend {n}"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            yield Problem(here, "a friend without a name")
            continue
        item = repair_all(raw)
        doc: dict[str, Any] = {"name": item["name"][:1024]}
        ts = _seconds(item.get("timestamp"))
        if ts is not None:
            doc["since"] = iso_utc(ts)
        doc["_id"] = stable_id("facebook-friend", doc["name"], ts)
        yield Document(FRIENDS, doc)


def _attachments(value: object) -> tuple[list[str], list[str], dict[str, Any] | None]:
    links: list[str] = []
    media: list[str] = []
    place: dict[str, Any] | None = None
    for attachment in value if isinstance(value, list) else []:
        data = attachment.get("data") if isinstance(attachment, dict) else None
        for entry in data if isinstance(data, list) else []:
            if not isinstance(entry, dict):
                continue
            if isinstance(ctx := entry.get("external_context"), dict) and isinstance(
                ctx.get("url"), str
            ):
                links.append(ctx["url"])
            if isinstance(m := entry.get("media"), dict) and isinstance(m.get("uri"), str):
                media.append(m["uri"])
            if isinstance(p := entry.get("place"), dict) and isinstance(p.get("name"), str):
                place = {
                    k: v for k, v in p.items() if k in ("name", "address", "coordinate", "url")
                }
    return links, media, place


def _seconds(value: object) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_of(value * 1000)
    return None


def _copy(doc: dict[str, Any], key: str, value: object) -> None:
    if isinstance(value, str) and value:
        doc[key] = value
