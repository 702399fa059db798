"""Read TIC bytes from the serial port (or a capture file) and find the meter's mode.

A port is opened 7E1 at the speed of a mode — 1200 baud for historic, 9600 for
standard — and read for a few seconds: at the wrong speed only garbage arrives (no
group passes its checksum), so the other speed is tried. The mode found is kept in the
connector's state and tried first next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import termios
from collections.abc import AsyncIterator
from pathlib import Path

from ..sdk import ServiceDown, UserActionNeeded
from .frames import Frame, FrameReader, Mode

__all__ = ["SPEEDS", "frames_from", "is_capture_file"]

SPEEDS: dict[Mode, int] = {"historic": 1200, "standard": 9600}
#: How long to listen at one speed before trying the other (a historic frame takes
#: ~2 s to arrive at 1200 baud, and frames follow each other).
LISTEN_SECONDS: dict[Mode, float] = {"historic": 6.0, "standard": 3.0}
CHUNK = 512


def is_capture_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


async def _capture_chunks(path: str) -> AsyncIterator[bytes]:
    with Path(path).open("rb") as file:  # noqa: ASYNC230 - a small local file, read in chunks
        while chunk := file.read(CHUNK):
            yield chunk


async def _open(device: str, mode: Mode) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The port at the mode's speed, 7E1 — or 8N1 when the adapter (or a pseudo-terminal)
    refuses 7 data bits: the parity bit then arrives as the 8th bit, which the decoder
    masks off."""
    import serial  # noqa: PLC0415 - only when a real port is read
    import serial_asyncio  # noqa: PLC0415

    framing = [
        {"bytesize": serial.SEVENBITS, "parity": serial.PARITY_EVEN},
        {"bytesize": serial.EIGHTBITS, "parity": serial.PARITY_NONE},
    ]
    for i, options in enumerate(framing):
        try:
            return await serial_asyncio.open_serial_connection(  # type: ignore[no-any-return]
                url=device, baudrate=SPEEDS[mode], stopbits=serial.STOPBITS_ONE, **options
            )
        except (serial.SerialException, termios.error, OSError) as err:
            text = str(err)
            if "Invalid argument" in text and i == 0:
                continue  # 7E1 refused: try 8N1
            if "Permission denied" in text or "Errno 13" in text:
                raise UserActionNeeded(
                    f"no permission to read {device}: the selfdata user must be in the "
                    "'dialout' group"
                ) from err
            if "No such file" in text or "Errno 2" in text:
                raise UserActionNeeded(
                    f"there is no {device}: plug the TIC dongle in, or set the right device"
                ) from err
            raise ServiceDown(f"cannot open {device}: {text}") from err
    raise AssertionError("unreachable")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def frames_from(
    device: str,
    *,
    mode: str = "auto",
    preferred: str | None = None,
    until: float | None = None,
    reader: FrameReader | None = None,
) -> AsyncIterator[tuple[Frame, int | None]]:
    """Frames from ``device`` (a serial port, or a capture file read at once) with the speed
    they were read at, until the loop time ``until``.

    ``mode="auto"`` finds the speed; raises :class:`ServiceDown` when no speed gives a
    frame (unplugged wire, meter's TIC off).
    """
    loop = asyncio.get_running_loop()
    decoder = reader or FrameReader()
    if is_capture_file(device):
        async for chunk in _capture_chunks(device):
            for frame in decoder.feed(chunk):
                yield frame, None
        return
    if mode in SPEEDS:
        order: list[Mode] = [mode]  # type: ignore[list-item]
    else:
        order = ["historic", "standard"]
        if preferred == "standard":
            order.reverse()
    tries = 0
    while True:
        for speed_mode in order:
            stream, writer = await _open(device, speed_mode)
            found = False
            try:
                listen_until = loop.time() + LISTEN_SECONDS[speed_mode]
                while True:
                    now = loop.time()
                    if until is not None and now >= until:
                        return
                    if not found and now >= listen_until:
                        break
                    stop = until if found else min(listen_until, until or listen_until)
                    wait = None if stop is None else max(0.05, stop - now)
                    try:
                        chunk = await asyncio.wait_for(stream.read(CHUNK), wait)
                    except TimeoutError:
                        continue
                    if not chunk:
                        raise ServiceDown(f"{device} was closed")
                    for frame in decoder.feed(chunk):
                        found = True
                        yield frame, SPEEDS[speed_mode]
            finally:
                await _close(writer)
        tries += 1
        if tries >= 2 or (until is not None and loop.time() >= until):
            raise ServiceDown(
                f"no TIC frame on {device} at 1200 or 9600 baud: check the wiring (I1/I2 to "
                "the dongle) and that the meter's TIC is on"
            )
