"""Decode the Linky "télé-information client" (TIC) stream: frames, groups, checksums.

The meter sends frames forever, 7 data bits, even parity, 1 stop bit::

    STX (0x02)  group group …  ETX (0x03)        an EOT (0x04) cuts a frame short
    group = LF (0x0A) … CR (0x0D)

* **historic** mode (1200 baud): ``LABEL SP DATA SP CHECKSUM``; the checksum is
  ``(sum of LABEL SP DATA) & 0x3F + 0x20`` — the separator before it is not counted;
* **standard** mode (9600 baud): ``LABEL HT [HORODATE HT] DATA HT CHECKSUM``; the sum runs
  from the label up to and *including* the last HT (Enedis-NOI-CPT_54E, §6).

The checksum is a printable character and may itself be a space, so a group is read
from its end (checksum, then separator) and never split on spaces blindly. The mode is
the separator's: HT means standard, SP historic. A group whose checksum is wrong, or a
frame that was cut, is counted, never stored. Bytes are masked to 7 bits, so a port
opened 8N1 by mistake still decodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "EOT",
    "ETX",
    "STX",
    "Frame",
    "FrameReader",
    "Group",
    "Mode",
    "checksum",
    "encode_frame",
    "encode_group",
]

STX, ETX, EOT, LF, CR, HT, SP = 0x02, 0x03, 0x04, 0x0A, 0x0D, 0x09, 0x20
Mode = Literal["historic", "standard"]
_LABEL = re.compile(rb"^[A-Z0-9+-]{2,16}$")
#: A frame longer than this without ETX is noise (a real one is under 1 kB).
MAX_FRAME = 4096


def checksum(data: bytes) -> int:
    return (sum(data) & 0x3F) + 0x20


@dataclass(frozen=True, slots=True)
class Group:
    label: str
    value: str
    #: Standard mode only: ``"E240315093000"`` (season letter, then yymmddhhmmss).
    horodate: str | None = None


@dataclass
class Frame:
    mode: Mode
    groups: dict[str, Group] = field(default_factory=dict)
    bad_groups: int = 0

    def get(self, label: str) -> str | None:
        group = self.groups.get(label)
        return group.value if group else None

    @property
    def meter(self) -> str | None:
        return self.get("ADSC") or self.get("ADCO")


def parse_group(raw: bytes) -> tuple[Group, Mode] | None:
    """One group's bytes between LF and CR; ``None`` if damaged or its checksum is wrong."""
    if len(raw) < 4:
        return None
    sep = raw[-2]
    if sep == HT:
        if checksum(raw[:-1]) != raw[-1]:
            return None
        parts = raw[:-2].split(b"\t")
        if len(parts) == 2:
            label, value, horodate = parts[0], parts[1], None
        elif len(parts) == 3:
            label, horodate, value = parts[0], parts[1], parts[2]
        else:
            return None
        mode: Mode = "standard"
    elif sep == SP:
        if checksum(raw[:-2]) != raw[-1]:
            return None
        label, _, value = raw[:-2].partition(b" ")
        horodate = None
        mode = "historic"
    else:
        return None
    if not _LABEL.match(label):
        return None
    try:
        return (
            Group(
                label.decode("ascii"),
                value.decode("ascii").strip(),
                horodate.decode("ascii") if horodate is not None else None,
            ),
            mode,
        )
    except UnicodeDecodeError:
        return None


class FrameReader:
    """Feed it bytes as they arrive; it gives back the frames completed so far."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self.frames = 0
        self.cut_frames = 0
        self.bad_groups = 0

    def feed(self, data: bytes) -> Iterator[Frame]:
        for raw in data:
            byte = raw & 0x7F
            if byte == STX:
                if self._in_frame and self._buf:
                    self.cut_frames += 1  # a new frame started before the last one ended
                self._buf.clear()
                self._in_frame = True
            elif byte == EOT:
                if self._in_frame:
                    self.cut_frames += 1
                self._buf.clear()
                self._in_frame = False
            elif byte == ETX:
                if self._in_frame:
                    frame = self._decode(bytes(self._buf))
                    if frame is not None:
                        self.frames += 1
                        yield frame
                self._buf.clear()
                self._in_frame = False
            elif self._in_frame:
                self._buf.append(byte)
                if len(self._buf) > MAX_FRAME:
                    self.cut_frames += 1
                    self._buf.clear()
                    self._in_frame = False

    def _decode(self, body: bytes) -> Frame | None:
        groups: dict[str, Group] = {}
        modes = {"historic": 0, "standard": 0}
        bad = 0
        for chunk in body.split(bytes([LF]))[1:]:
            raw, cr, _ = chunk.partition(bytes([CR]))
            parsed = parse_group(raw) if cr else None
            if parsed is None:
                bad += 1
                continue
            group, group_mode = parsed
            modes[group_mode] += 1
            groups[group.label] = group
        self.bad_groups += bad
        if not groups:
            self.cut_frames += 1
            return None
        majority: Mode = "standard" if modes["standard"] > modes["historic"] else "historic"
        return Frame(majority, groups, bad)


# --- writing frames: for tests, capture files and the probe's self-check -----------------


def encode_group(label: str, value: str, mode: Mode, horodate: str | None = None) -> bytes:
    if mode == "historic":
        body = f"{label} {value}".encode("ascii")
        return bytes([LF]) + body + b" " + bytes([checksum(body)]) + bytes([CR])
    parts = [label, horodate, value] if horodate is not None else [label, value]
    body = ("\t".join(parts) + "\t").encode("ascii")
    return bytes([LF]) + body + bytes([checksum(body)]) + bytes([CR])


def encode_frame(groups: list[tuple[str, str] | tuple[str, str, str]], mode: Mode) -> bytes:
    out = bytearray([STX])
    for item in groups:
        if len(item) == 3:
            out += encode_group(item[0], item[2], mode, horodate=item[1])
        else:
            out += encode_group(item[0], item[1], mode)
    out.append(ETX)
    return bytes(out)
