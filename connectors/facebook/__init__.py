"""Facebook "Download your information" (JSON format): messages, posts and friends.

The archive is streamed member by member (nothing is extracted; see :mod:`..safe_zip`)
and every string's mojibake is repaired (see :mod:`.mojibake`). Choose "JSON" as the
format when requesting the download: the HTML format holds the same data for reading,
not for importing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from ..json_stream import sniff, stream_items
from ..safe_zip import ArchiveError, Member, SafeZip, first_zip_entry, is_zip
from ..sdk import Manifest
from ..sinks import IngestReport, Sink, SourceFile, store_documents
from .records import FRIENDS, MESSAGES, POSTS, from_friends, from_messages, from_posts

__all__ = ["MANIFEST", "detect", "ingest", "looks_like_facebook"]

MANIFEST = Manifest(
    id="facebook-export",
    name="Facebook",
    vendor="Meta",
    description='Messages, posts and friends from Facebook\'s "Download your information" '
    "archive (JSON format).",
    doctypes=(MESSAGES, POSTS, FRIENDS),
    schedule="manual",
    category="exports",
    file_formats=("facebook",),
    help_url="https://www.facebook.com/dyi",
)

_TOP = (
    "your_activity_across_facebook/",
    "personal_information/",
    "connections/",
    "logged_information/",
    "security_and_login_information/",
    "messages/",
    "posts/",
    "friends_and_followers/",
    "profile_information/",
    "ads_information/",
    "apps_and_websites_off_of_facebook/",
    "preferences/",
)
_MESSAGE = re.compile(r"^message_\d+\.json$")
_POSTS = re.compile(r"^your_posts(?:_.*)?_\d+\.json$")
_FRIENDS = {"friends.json", "your_friends.json"}


def looks_like_facebook(names: Iterable[str]) -> bool:
    return any(name.startswith(_TOP) for name in names)


def detect(name: str, head: bytes) -> bool:
    return is_zip(head) and looks_like_facebook([first_zip_entry(head)])


async def ingest(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    with SafeZip(source.file) as archive:
        for refused in archive.refused:
            report.problem(refused, "an unsafe entry name (absolute or with ..): refused")
        skipped = 0
        for member in archive.members:
            try:
                known = await _member(sink, archive, member, report)
            except ArchiveError as err:  # this entry is damaged or encrypted: the next may not be
                report.problem(member.name, err.message)
                continue
            skipped += not known
        if skipped:
            report.notes.append(f"{skipped:,} file(s) in the archive hold nothing this box reads")


async def _member(sink: Sink, archive: SafeZip, member: Member, report: IngestReport) -> bool:
    """Read one entry if it is one this box knows; whether it was."""
    path = member.path
    if _MESSAGE.match(path.name) and "messages" in path.parts:
        with archive.open(member) as reader:
            items = stream_items(reader, "messages.item", member.name)
            await store_documents(sink, report, from_messages(items, _thread(path), member.name))
    elif _POSTS.match(path.name):
        with archive.open(member) as reader:
            items = stream_items(reader, "item", member.name)
            await store_documents(sink, report, from_posts(items, member.name))
    elif path.name in _FRIENDS:
        with archive.open(member) as reader:
            key = _top_key(reader.read(4096))
        if key is None:
            report.problem(member.name, "not a list of friends")
            return True
        with archive.open(member) as reader:
            items = stream_items(reader, f"{key}.item", member.name)
            await store_documents(sink, report, from_friends(items, member.name))
    else:
        return False
    return True


def _thread(path: PurePosixPath) -> str:
    """``inbox/jeandupont_10158`` from ``…/messages/inbox/jeandupont_10158/message_1.json``."""
    parts = path.parts
    start = len(parts) - 1 - parts[::-1].index("messages")
    return "/".join(parts[start + 1 : -1])


def _top_key(head: bytes) -> str | None:
    for prefix, event, value in sniff(head):
        if prefix == "" and event == "map_key" and value in ("friends_v2", "friends"):
            return str(value)
    return None
