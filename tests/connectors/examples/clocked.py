"""A local test source that dates what it reads with ``ctx.now()`` (not shipped)."""

from __future__ import annotations

from selfdata.connectors.sdk import Context, Manifest

MANIFEST = Manifest(
    id="test-clocked",
    name="Test clocked meter",
    vendor="selfdata tests",
    description="Stamps one reading with the box's clock.",
    series=("clocked/",),
    schedule="every 1m",
    runs_locked=True,
    timeout_seconds=20,
)


async def sync(ctx: Context) -> None:
    await ctx.save_series("clocked/power", [(int(ctx.now().timestamp()), 42.0)], "W")
