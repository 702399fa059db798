"""A fake Linky TIC output: frames with real checksums, and a pseudo-terminal that
serves them at the line's speed (10 bits a character: 7 data, parity, start, stop)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import tty
from collections.abc import Iterable

from selfdata.connectors.linky_tic.frames import encode_frame

ADCO = "021728123456"
ADSC = "041876097501"


def historic_frame(
    papp: int = 450, hchc: int = 27663520, hchp: int = 35768324, ptec: str = "HP.."
) -> bytes:
    """A single-phase historic frame (HC/HP option), as a Linky in historic mode sends it."""
    return encode_frame(
        [
            ("ADCO", ADCO),
            ("OPTARIF", "HC.."),
            ("ISOUSC", "45"),
            ("HCHC", f"{hchc:09d}"),
            ("HCHP", f"{hchp:09d}"),
            ("PTEC", ptec),
            ("IINST", f"{max(1, papp // 230):03d}"),
            ("IMAX", "090"),
            ("PAPP", f"{papp:05d}"),
            ("HHPHC", "A"),
            ("MOTDETAT", "000000"),
        ],
        "historic",
    )


def standard_frame(sinsts: int = 1230, east: int = 12345678, date: str = "E240315103000") -> bytes:
    """A single-phase standard-mode frame (base option), with horodated groups."""
    return encode_frame(
        [
            ("ADSC", ADSC),
            ("VTIC", "02"),
            ("DATE", date, ""),
            ("NGTF", "      BASE      "),
            ("LTARF", "      BASE      "),
            ("EAST", f"{east:09d}"),
            ("EASF01", f"{east:09d}"),
            ("EASF02", "000000000"),
            ("IRMS1", "005"),
            ("URMS1", "231"),
            ("PREF", "09"),
            ("PCOUP", "09"),
            ("SINSTS", f"{sinsts:05d}"),
            ("SMAXSN", "E240315071512", "04210"),
            ("CCASN", "E240315100000", "01150"),
            ("UMOY1", "E240315102000", "232"),
            ("STGE", "003A0001"),
            ("MSG1", "PAS DE          MESSAGE         "),
            ("PRM", "12345678901234"),
            ("RELAIS", "000"),
            ("NTARF", "01"),
            ("NJOURF", "00"),
            ("NJOURF+1", "00"),
        ],
        "standard",
    )


class PtyMeter:
    """The master side of a pseudo-terminal; the connector opens :attr:`device`."""

    def __init__(self, baud: int) -> None:
        self.baud = baud
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no CR/LF translation
        flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.device = os.ttyname(self.slave)
        self._task: asyncio.Task[None] | None = None

    async def _serve(self, data: Iterable[bytes], repeat: bool) -> None:
        chunks = list(data)
        while True:
            for blob in chunks:
                for i in range(0, len(blob), 16):
                    piece = blob[i : i + 16]
                    while True:
                        try:
                            os.write(self.master, piece)
                            break
                        except BlockingIOError:
                            await asyncio.sleep(0.01)
                    await asyncio.sleep(len(piece) * 10 / self.baud)
            if not repeat:
                return

    def start(self, data: Iterable[bytes], *, repeat: bool = True) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve(data, repeat))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        os.close(self.master)
        os.close(self.slave)
