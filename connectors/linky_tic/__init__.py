"""Linky TIC: the meter's own "télé-information client" output, read on the Pi.

A TIC dongle (USB: µTeleInfo, Cartelectronic…; or a PiTInfo HAT on the UART) wired to
the I1/I2 terminals of the Linky gives a frame every second or two: the apparent power
(PAPP/SINSTS) and the energy indexes. No account, no secret, no Internet: this source
runs while the box is locked (its points go to the sealed inbox).

Each run listens for ``duration`` seconds (default: until just before the next
scheduled run) and stores one point a minute — see :mod:`.values` for the series.
``selfdata connectors probe linky-tic --device PATH`` calls :func:`probe` to show the
decoded frames (or those of a capture file) so the owner can check the wiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..sdk import Context, CredentialField, Manifest, RateLimit
from .frames import FrameReader
from .port import SPEEDS, frames_from, is_capture_file
from .values import MinuteSeries, frame_summary

__all__ = ["MANIFEST", "probe", "probe_device", "sync"]

DEFAULT_DEVICE = "/dev/ttyUSB0"
DEFAULT_DURATION = 290.0

MANIFEST = Manifest(
    id="linky-tic",
    name="Linky TIC (serial)",
    vendor="Enedis",
    description="Live power and energy indexes from the Linky meter's TIC output, through "
    "a serial dongle on the box: one point a minute, even while the box is locked.",
    series=("linky/",),
    credentials=(
        CredentialField(
            "device",
            "Serial device",
            kind="path",
            default=DEFAULT_DEVICE,
            help="/dev/ttyUSB0 for a USB dongle, /dev/serial0 for a HAT on the Pi's UART.",
        ),
        CredentialField(
            "mode",
            "TIC mode",
            kind="select",
            required=False,
            default="auto",
            options=("auto", "historic", "standard"),
            help="Historic (1200 baud) or standard (9600 baud); auto finds it.",
        ),
        CredentialField(
            "duration",
            "Seconds to listen per run",
            kind="number",
            required=False,
            default=str(int(DEFAULT_DURATION)),
        ),
    ),
    schedule="every 5m",
    rate_limit=RateLimit(requests=1, per_seconds=1),
    runs_locked=True,
    category="energy",
    timeout_seconds=DEFAULT_DURATION + 60,
    help_url="https://www.enedis.fr/media/2035/download",
)


async def sync(ctx: Context) -> None:
    device = (ctx.credentials.get("device") or DEFAULT_DEVICE).strip()
    duration = float(ctx.credentials.get("duration") or DEFAULT_DURATION)
    loop = asyncio.get_running_loop()
    reader = FrameReader()
    minutes = MinuteSeries()
    stored = 0

    async def save(points: dict[str, list[tuple[int, float]]]) -> None:
        nonlocal stored
        for name, pts in points.items():
            stored += await ctx.save_series(name, pts, "Wh" if "/index/" in name else "VA")

    async for frame, _speed in frames_from(
        device,
        mode=ctx.credentials.get("mode") or "auto",
        preferred=ctx.state.get("mode"),
        until=loop.time() + duration,
        reader=reader,
    ):
        if ctx.state.get("mode") != frame.mode:
            ctx.log.info("TIC in %s mode on %s", frame.mode, device)
            ctx.state["mode"] = frame.mode
        if frame.meter:
            ctx.state["meter"] = frame.meter
        closed = minutes.add(frame, ctx.now().timestamp())
        if closed:
            await save(closed)
            await ctx.progress(reader.frames, None, f"{reader.frames} frames")
    await save(minutes.flush())
    ctx.state["last_run"] = {
        "frames": reader.frames,
        "bad_groups": reader.bad_groups,
        "cut_frames": reader.cut_frames,
        "points": stored,
    }
    if reader.bad_groups or reader.cut_frames:
        ctx.log.info(
            "%d frames, %d damaged groups, %d cut frames",
            reader.frames,
            reader.bad_groups,
            reader.cut_frames,
        )


async def probe(ctx: Context, options: Mapping[str, str]) -> dict[str, Any]:
    """The hook behind ``selfdata connectors probe linky-tic --device PATH [--frames N]
    [--json]``: decode a few frames so the owner can check the wiring.

    ``options``: ``device`` (a serial port or a capture file; default: the account's),
    ``frames`` (default 3), ``mode`` (auto/historic/standard), ``wait`` (seconds, 30).
    """
    device = options.get("device") or ctx.credentials.get("device") or DEFAULT_DEVICE
    return await probe_device(
        device,
        frames=int(options.get("frames") or 3),
        mode=options.get("mode") or ctx.credentials.get("mode") or "auto",
        wait=float(options.get("wait") or 30),
    )


async def probe_device(
    device: str, *, frames: int = 3, mode: str = "auto", wait: float = 30.0
) -> dict[str, Any]:
    """Decode ``frames`` frames from a serial device or a capture file: a JSON-able report
    of the mode, the speed and each frame's meaning. Gives up after ``wait`` seconds."""
    loop = asyncio.get_running_loop()
    reader = FrameReader()
    decoded: list[dict[str, Any]] = []
    speed: int | None = None
    async for frame, at in frames_from(device, mode=mode, until=loop.time() + wait, reader=reader):
        speed = at
        decoded.append(frame_summary(frame))
        if len(decoded) >= frames:
            break
    found = decoded[0]["mode"] if decoded else None
    return {
        "device": device,
        "source": "capture file" if is_capture_file(device) else "serial port",
        "mode": found,
        "baud": SPEEDS[found] if found else speed,
        "frames": decoded,
        "bad_groups": reader.bad_groups,
        "cut_frames": reader.cut_frames,
        "ok": bool(decoded),
    }
