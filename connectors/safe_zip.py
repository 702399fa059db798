"""Reading export archives (Google Takeout, Facebook) without trusting them.

Nothing is ever extracted to disk: members are streamed straight into the parsers, so a
member named ``../../etc/passwd`` cannot write anywhere. Such names are still refused
(and reported), because an archive that carries them is not an honest export.

Zip bombs are stopped while reading, not from the headers (which a bomb lies in): every
member reader counts the bytes it actually inflates and stops at a per-member cap, at a
cap for the whole archive, and when the inflated size outgrows the compressed size by
more than ``max_ratio`` (JSON exports inflate 5–30×; bombs 1000×+). Overlapping members
(the "non-recursive zip bomb" that reuses one compressed stream for many files) are
refused when the archive is opened.

A member can be read again from its start (:meth:`GuardedReader.seek` goes back, never
forward): the caps then count the second reading too.
"""

from __future__ import annotations

import io
import itertools
import struct
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, BinaryIO

from selfdata.errors import InputError

__all__ = [
    "ArchiveError",
    "GuardedReader",
    "Member",
    "SafeZip",
    "ZipLimits",
    "first_zip_entry",
    "is_zip",
]

GiB = 1024**3
MiB = 1024**2


class ArchiveError(InputError):
    """The archive is damaged, hostile or over a limit."""


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 200_000
    max_member_bytes: int = 16 * GiB
    max_total_bytes: int = 64 * GiB
    max_ratio: int = 200
    #: Below this many inflated bytes a member is never judged by its ratio.
    ratio_grace: int = 4 * MiB


@dataclass(frozen=True)
class Member:
    name: str
    size: int  # as the archive claims: a hint for progress, never a limit
    compressed: int
    info: zipfile.ZipInfo

    @property
    def path(self) -> PurePosixPath:
        return PurePosixPath(self.name)


def is_zip(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def first_zip_entry(head: bytes) -> str:
    """The name in the zip's first local header (enough to tell whose export it is)."""
    if len(head) < 30 or not head.startswith(b"PK\x03\x04"):
        return ""
    (length,) = struct.unpack_from("<H", head, 26)
    return head[30 : 30 + length].decode("utf-8", "replace")


class SafeZip:
    def __init__(self, file: BinaryIO, limits: ZipLimits | None = None) -> None:
        self.limits = limits or ZipLimits()
        self.inflated = 0  # bytes inflated so far, across every member
        try:
            self._zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
            raise ArchiveError(
                f"not a readable zip archive ({err}): it may be truncated, download it again"
            ) from None
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_members:
            self._zip.close()
            raise ArchiveError(
                f"the archive holds {len(infos):,} entries, more than {self.limits.max_members:,}"
            )
        self._check_overlaps(infos)
        self.members: list[Member] = []
        self.refused: list[str] = []
        for info in infos:
            if info.is_dir():
                continue
            if not _safe_name(info.filename):
                self.refused.append(info.filename)
                continue
            self.members.append(Member(info.filename, info.file_size, info.compress_size, info))

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, member: Member) -> GuardedReader:
        try:
            raw = self._zip.open(member.info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as err:
            raise ArchiveError(f"{member.name}: cannot read this entry ({err})") from None
        return GuardedReader(raw, member, self)

    def _check_overlaps(self, infos: list[zipfile.ZipInfo]) -> None:
        ordered = sorted(infos, key=lambda i: i.header_offset)
        for here, following in itertools.pairwise(ordered):
            if here.header_offset + here.compress_size > following.header_offset:
                self._zip.close()
                raise ArchiveError(
                    "the archive's entries overlap (a zip bomb or a damaged file): refused"
                )


class GuardedReader:
    """A member's inflated bytes, with every limit checked on each read."""

    def __init__(self, raw: IO[bytes], member: Member, archive: SafeZip) -> None:
        self._raw = raw
        self.member = member
        self._archive = archive
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        limits = self._archive.limits
        if size is None or size < 0 or size > 1 * MiB:
            size = 1 * MiB  # never "everything": the caller loops
        try:
            data = self._raw.read(size)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
            raise ArchiveError(f"{self.member.name}: damaged entry ({err})") from None
        n = len(data)
        self.produced += n
        self._archive.inflated += n
        name = self.member.name
        if self.produced > limits.max_member_bytes:
            raise ArchiveError(f"{name}: inflates past {limits.max_member_bytes:,} bytes: refused")
        if self._archive.inflated > limits.max_total_bytes:
            raise ArchiveError(
                f"the archive inflates past {limits.max_total_bytes:,} bytes: refused"
            )
        if self.produced > limits.ratio_grace and self.produced > limits.max_ratio * max(
            self.member.compressed, 1
        ):
            raise ArchiveError(
                f"{name}: inflates more than {limits.max_ratio}× its compressed size "
                "(a zip bomb?): refused"
            )
        return data

    def seekable(self) -> bool:
        return self._raw.seekable()

    def tell(self) -> int:
        return self.produced

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        """Back to an earlier point of the member, to read it again from there.

        Never forward: zipfile would inflate the bytes skipped without these checks. The
        caps count what is read after it again (a member read twice counts twice towards
        the archive's total); the zip re-inflates from the start up to ``offset``."""
        if whence != io.SEEK_SET or not 0 <= offset <= self.produced:
            raise io.UnsupportedOperation("a zip member is only ever read again from before")
        try:
            self._raw.seek(offset)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
            raise ArchiveError(f"{self.member.name}: cannot be read again ({err})") from None
        self._archive.inflated += offset
        self.produced = offset
        return offset

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> GuardedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    if len(name) > 1 and name[1] == ":":  # C:foo
        return False
    return ".." not in PurePosixPath(name).parts
